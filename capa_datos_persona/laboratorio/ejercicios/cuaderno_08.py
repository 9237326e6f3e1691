"""Comprobaciones del cuaderno 8 (concurrencia y tamaño del pool).

* 08.1 «Predice y ejecuta»: la espera media de 8 hilos en un pool de 4 con
  consultas de 20 ms; se compara con la que midió el cuaderno
  (:func:`~capa_datos_persona.laboratorio.concurrencia.ultima_carga`).
* 08.2 Opción múltiple: qué ``max_size`` poner con varios procesos, un
  servidor de 2 núcleos y consultas que calculan (huella).
* 08.3 El presupuesto de conexiones: cuántos procesos caben en
  ``max_connections`` (huella).
"""

from __future__ import annotations

from numbers import Real
from typing import Any

from .. import concurrencia
from . import registrar

HILOS, TAMANO, DURACION = 8, 4, 0.02
"""El experimento de la predicción: 8 hilos, un pool de 4 y ``SELECT pg_sleep(0.02)``."""

TOLERANCIA = 0.35
"""Una predicción vale si se aleja de la espera medida menos de este tanto por uno (más 1 ms)."""


def _ms(valor: float) -> str:
    return f"{valor:.0f} ms"


def _probar_espera(prediccion: Any) -> str | None:
    if isinstance(prediccion, bool) or not isinstance(prediccion, Real):
        return "escribe un número de milisegundos, por ejemplo 12.5 (sin comillas ni unidades)."
    carga = concurrencia.ultima_carga(HILOS, TAMANO, concurrencia.CONSULTA_ESPERA, DURACION)
    if carga is None:
        return "primero ejecuta la celda del experimento (8 hilos y un pool de 4); luego, esta."
    medida = 1000 * carga.espera_media
    prediccion = float(prediccion)
    if abs(prediccion - medida) <= TOLERANCIA * medida + 1:
        return None
    if prediccion <= 1:
        return (
            f"se midieron {_ms(medida)}. Con 8 hilos y solo 4 conexiones, en todo momento hay 4 hilos "
            "en la cola: la espera no puede ser cero."
        )
    if 1.6 * medida <= prediccion <= 2.4 * medida:
        return (
            f"se midieron {_ms(medida)}, la mitad de lo que dices. ¿Contaste la vuelta entera (esperar "
            "y además usar la conexión)? La espera es solo el tiempo en la cola."
        )
    return (
        f"se midieron {_ms(medida)}. Piensa en una sola conexión: se la turnan 8 / 4 = 2 hilos, y "
        "mientras uno la usa 20 ms, ¿cuánto espera el otro?"
    )


registrar(
    "08.1",
    pista="usa la fórmula del paso 2: (hilos / conexiones − 1) × lo que dura cada uso.",
    probar=_probar_espera,
    explicacion="Espera ≈ (hilos / conexiones − 1) × tiempo de uso, con todas las conexiones ocupadas.",
)

registrar(
    "08.2",
    pista=(
        "descarta lo que supera el presupuesto de la sección «El límite del servidor» y lo que cuenta "
        "núcleos de la máquina equivocada; recuerda qué le pasó a la consulta que calcula."
    ),
    huella="2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
    explicacion=(
        "Con consultas de CPU el servidor no rinde más allá de sus núcleos físicos; la regla es un punto "
        "de partida para el total de todos los procesos, y lo que decide es medir."
    ),
)

registrar(
    "08.3",
    pista=(
        "de max_connections resta primero las reservadas para superusuarios y las sesiones que ya "
        "están siempre abiertas; lo que queda, divídelo entre lo que abre cada proceso y redondea hacia abajo."
    ),
    huella="19581e27de7ced00ff1ce50b2047e7a567c76b1cbaebabe5ef03f7c3017bb5b7",
    explicacion=(
        "Lo que queda para tus pools se divide entre lo que abre cada proceso, redondeando hacia abajo: "
        "un proceso más ya no llenaría su pool: sus conexiones de más recibirían el FATAL 53300."
    ),
)
