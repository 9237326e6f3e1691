"""Ejercicios del cuaderno 5: «Agota el pool y recupéralo».

* 05.1 (predice y ejecuta, opción múltiple): qué le pasa a la sexta petición a un
  pool de 5 con las 5 prestadas.
* 05.2 (predice y ejecuta, número): qué dice ``requests_waiting`` justo después de
  tres ``PoolTimeout``, cuando ya no espera nadie.
* 05.3 (función, se comprueba ejecutándola contra el servidor): pedir una
  conexión con un plazo propio, devolver ``None`` si el pool está agotado y no
  dejar nunca una conexión prestada.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...conexion import Conexion
from . import huella, registrar

_LETRAS = ("a", "b", "c", "d")


def _opcion(correcta: str, pistas: dict[str, str]) -> Callable[[Any], str | None]:
    """Comprueba una letra por su huella y, si no es la buena, da la pista de esa letra."""

    def probar(respuesta: Any) -> str | None:
        letra = respuesta.strip().casefold() if isinstance(respuesta, str) else None
        if letra not in _LETRAS:
            return 'responde con una letra entre comillas: "a", "b", "c" o "d".'
        return None if huella(letra) == correcta else pistas[letra]

    return probar


registrar(
    "05.1",
    pista="vuelve a mirar la salida del experimento.",
    probar=_opcion(
        "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
        {
            "a": "mira cuánto tardó la celda en fallar y de qué biblioteca es la excepción. "
            "«connection pool exhausted» sale de otra biblioteca: la verás en el paso 4.",
            "b": "mira cuánto esperó la sexta petición y qué excepción recibió al final.",
            "c": "mira la salida del experimento: ¿llegó a imprimirse «Conexión #6 prestada»? "
            "¿Cuántas abiertas llegó a tener el pool?",
            "d": "la celda terminó sola, sin que nadie devolviera nada. ¿Qué excepción la detuvo, y cuándo?",
        },
    ),
)

registrar(
    "05.2",
    pista="la cifra sale de get_stats(), no de quién está esperando de verdad. Mira la salida del "
    "experimento: ¿cuándo saca el pool de su cola una petición que ya recibió PoolTimeout?",
    huella="4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce",
)


def _en_uso() -> int:
    estadisticas = Conexion.obtener_pool().get_stats()
    return estadisticas["pool_size"] - estadisticas["pool_available"]


def _probar_intentar_consulta(funcion: Any) -> str | None:
    if not callable(funcion):
        return "respuesta debe ser tu función, sin paréntesis: respuesta = intentar_consulta"
    antes = _en_uso()
    if antes >= Conexion.MAX_CON:
        return ("el pool ya estaba agotado antes de probar tu función: devuelve tus conexiones "
                "(o ejecuta Conexion.cerrar_conexiones()) y vuelve a ejecutar las dos celdas.")

    # 1. Con conexiones libres: SELECT 1 y nada prestado al terminar.
    resultado = funcion(0.5)
    if _en_uso() != antes:
        return ("con el pool libre, tu función dejó una conexión prestada: devuélvela con "
                "Conexion.liberar_conexion() dentro de un finally. (Ese hueco ya no vuelve: "
                "ejecuta Conexion.cerrar_conexiones() antes de repetir.)")
    if resultado != 1:
        return f"con conexiones libres debe devolver el 1 de SELECT 1, pero devolvió {resultado!r}."

    # 2. Con el pool agotado: None, sin esperar más que el plazo que recibe.
    ocupadas = []
    try:
        for _ in range(Conexion.MAX_CON - antes):
            ocupadas.append(Conexion.obtener_conexion_manual())
        inicio = time.monotonic()
        resultado = funcion(0.2)
        espera = time.monotonic() - inicio
    finally:
        for conexion in ocupadas:
            Conexion.liberar_conexion(conexion)
    if resultado is not None:
        return f"con el pool agotado debe devolver None, pero devolvió {resultado!r}."
    if espera > 1.5:
        return (f"con el pool agotado tardó {espera:.1f} s en rendirse".replace(".", ",")
                + ": pide la conexión con el plazo que recibe la función (timeout=timeout), "
                "no con el TIMEOUT del pool.")
    if _en_uso() != antes:
        return "después de probar con el pool agotado quedó una conexión prestada de más."
    return None


registrar(
    "05.3",
    pista="captura psycopg_pool.PoolTimeout con try/except y devuelve la conexión en un finally.",
    probar=_probar_intentar_consulta,
)
