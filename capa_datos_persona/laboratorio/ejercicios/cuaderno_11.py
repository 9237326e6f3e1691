"""Comprobaciones del cuaderno 11 (el pool asíncrono: ``AsyncConnectionPool``).

* 11.1 Predicción: cuántos PID distintos dan seis ``async with`` seguidos con
  un pool de cinco (huella).
* 11.2 «Predice y ejecuta»: cuánto tarda la carga de 50 corrutinas con un pool
  de 5 y ``SELECT pg_sleep(0.02)``; se compara con la duración que midió el
  cuaderno (:func:`~capa_datos_persona.laboratorio.asincrono.ultima_medida`).
* 11.3 Opción múltiple: qué pasa con 200 peticiones a la vez en una API
  ``async`` con un pool de 5 (huella; las opciones falsas son ideas equivocadas
  frecuentes).
* 11.4 Arreglar una corrutina que bloquea el bucle de eventos: se comprueba con
  lo que midió :func:`~capa_datos_persona.laboratorio.asincrono.diez_a_la_vez`.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from .. import asincrono
from . import registrar

PETICIONES, TAMANO, DURACION = 50, 5, 0.02
"""El experimento de la predicción 11.2: 50 corrutinas, un pool de 5 y ``SELECT pg_sleep(0.02)``."""

TOLERANCIA = 0.35
"""Una predicción vale si se aleja de la duración medida menos de este tanto por uno (más 20 ms)."""

registrar(
    "11.1",
    pista=(
        "los seis bloques van uno detrás de otro: cuando empieza el segundo, ¿dónde está la conexión "
        "del primero? ¿Necesita el pool abrir otra? Escribe un número entero."
    ),
    huella="6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
    explicacion="Cada bloque devuelve la conexión antes de que empiece el siguiente: el pool presta siempre la misma.",
)


def _ms(valor: float) -> str:
    return f"{valor:.0f} ms"


def _s(valor: float) -> str:
    return f"{valor:.2f} s".replace(".", ",")


def _probar_duracion(prediccion: Any) -> str | None:
    if isinstance(prediccion, bool) or not isinstance(prediccion, Real):
        return "escribe un número de milisegundos, por ejemplo 350 (sin comillas ni unidades)."
    medida = asincrono.ultima_medida(asincrono.CORRUTINAS, PETICIONES, TAMANO, DURACION)
    if medida is None:
        return "primero ejecuta la celda del experimento (50 peticiones, un pool de 5); luego, esta."
    medida_ms = 1000 * medida.duracion
    prediccion = float(prediccion)
    if abs(prediccion - medida_ms) <= TOLERANCIA * medida_ms + 20:
        return None
    if prediccion < 60:
        return (
            f"se midieron {_ms(medida_ms)}. `async` no hace más rápida cada consulta ni abre más conexiones: "
            "solo 5 consultas de 20 ms pueden ir a la vez."
        )
    if prediccion > 2.5 * medida_ms:
        return (
            f"se midieron {_ms(medida_ms)}. Las corrutinas no van de una en una: mientras una espera al "
            "servidor, el bucle atiende a las demás, y el pool tiene 5 conexiones trabajando a la vez."
        )
    return (
        f"se midieron {_ms(medida_ms)}. Cuenta tandas: 50 peticiones entre 5 conexiones son 10 tandas, "
        "y cada tanda dura lo que la consulta."
    )


registrar(
    "11.2",
    pista="cuenta tandas: peticiones / conexiones, y cada tanda dura lo que dura una consulta.",
    probar=_probar_duracion,
    explicacion="Duración ≈ (peticiones / conexiones) × lo que dura cada consulta: con hilos o con corrutinas.",
)

registrar(
    "11.3",
    pista=(
        "repasa la gráfica de hilos frente a corrutinas: ¿cambió el rendimiento?, ¿qué cambió? Y recuerda "
        "cuántas conexiones puede abrir un pool de 5. Escribe solo la letra, entre comillas."
    ),
    huella="3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
    explicacion=(
        "Las corrutinas se turnan las mismas 5 conexiones que se turnarían los hilos; lo que ganan es que "
        "esperar cuesta menos memoria que un hilo con su pila."
    ),
)


def _probar_sin_bloqueo(prueba: Any) -> str | None:
    if not asincrono.prueba_registrada(prueba):
        return (
            "cuando tu corrutina esté lista, cambia la última línea por "
            "`respuesta = await asincrono.diez_a_la_vez(dormir_en_servidor)` y ejecuta la celda."
        )
    if prueba.problema:
        return prueba.problema
    if prueba.errores:
        return f"tu corrutina falló: {prueba.errores[0]}"
    if prueba.en_uso_al_final:
        return (
            f"al terminar quedaron {prueba.en_uso_al_final} conexiones prestadas: usa "
            "`async with ConexionAsincrona.obtener_conexion()` para que vuelvan solas."
        )
    if prueba.duracion < prueba.segundos:
        return (
            "terminó antes de lo que dura una sola consulta: tu corrutina tiene que ejecutar "
            "`SELECT pg_sleep(%s)` con `segundos` en el servidor."
        )
    secuencial = prueba.veces * prueba.segundos
    if prueba.duracion >= 0.6 * secuencial:
        return (
            f"las {prueba.veces} llamadas tardaron {_s(prueba.duracion)}, casi como una detrás de otra "
            f"({_s(secuencial)}), y el bucle se quedó parado hasta {_ms(1000 * prueba.retraso_maximo)}. "
            "Algo en tu corrutina bloquea: ¿usas el pool con hilos (`Conexion`) o una consulta sin `await`?"
        )
    return None


registrar(
    "11.4",
    pista=(
        "dentro de `async def`, todo lo que espere necesita `await`: "
        "`async with ConexionAsincrona.obtener_conexion()` y `await conexion.execute(...)`."
    ),
    probar=_probar_sin_bloqueo,
    explicacion="Con el pool asíncrono cada espera cede el turno: las diez llamadas se reparten las 5 conexiones.",
)
