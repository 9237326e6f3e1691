"""Ejercicios del cuaderno 1: prepara el entorno y mide lo que ahorra un pool.

* **01.1** (predice y ejecuta): cuántas veces más rápida será una consulta con
  el pool que abriendo una conexión nueva para ella. Se compara con lo que midió
  la celda del cuaderno, que lo anota con :func:`anotar_medida`.
* **01.2** (opción múltiple): qué significa ``MAX_CON = 5``.
* **01.3** (código): la función ``contar_personas()``, probada contra el servidor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import registrar

FACTOR = 4
"""La predicción 01.1 vale si está entre la medida / FACTOR y la medida × FACTOR."""

_MEDIDA: dict[str, float] = {}


def anotar_medida(veces: float) -> None:
    """Guarda cuántas veces más rápida fue cada consulta con el pool (la llama la celda que mide)."""
    _MEDIDA["veces"] = float(veces)


def _numero(valor: float) -> str:
    return f"{valor:.0f}" if valor >= 10 else f"{valor:.1f}".replace(".", ",")


def _probar_prediccion(prediccion: Any) -> str | None:
    if isinstance(prediccion, bool) or not isinstance(prediccion, (int, float)) or not math.isfinite(prediccion):
        return "escribe un número: por ejemplo `prediccion = 3` si crees que será el triple de rápida."
    if "veces" not in _MEDIDA:
        return "ejecuta antes la celda que mide los dos tiempos: esta comprobación compara tu número con esa medida."
    medida = _MEDIDA["veces"]
    if prediccion <= 0:
        return "escribe cuántas veces más rápida será (un número mayor que 0; 1 = igual de rápida)."
    if prediccion < medida / FACTOR:
        base = f"la celda midió unas {_numero(medida)} veces y tu predicción se quedó corta."
        if prediccion <= 1:
            base += " El pool también trabaja (prestar y devolver), pero eso es muy poco comparado con abrir una conexión."
        return base + (" Abrir una conexión crea un proceso en el servidor y lo autentica;"
                       " un SELECT 1 por una conexión ya abierta es una ida y vuelta.")
    if prediccion > medida * FACTOR:
        return (f"la celda midió unas {_numero(medida)} veces y tu predicción se pasó. Con el pool la consulta"
                " tampoco es gratis: sigue habiendo idas y vueltas al servidor (la consulta y el commit).")
    return None


def _probar_contar(funcion: Any) -> str | None:
    from ...conexion import Conexion
    from ..diagnostico import conexion_directa

    if not callable(funcion):
        return "`contar_personas` tiene que ser una función: empieza con `def contar_personas():`."
    contar: Callable[[], Any] = funcion
    pool = Conexion.obtener_pool()
    antes = pool.get_stats()
    with conexion_directa() as directa:
        real = directa.execute("SELECT count(*) FROM persona").fetchone()[0]
        primera = contar()
        if isinstance(primera, tuple):
            return f"devolviste la fila entera {primera!r}; el número es su primer elemento: `fetchone()[0]`."
        if isinstance(primera, bool) or not isinstance(primera, int):
            return (f"la función devolvió un {type(primera).__name__}, no un número entero. "
                    "`execute()` da un cursor; el número sale de `.fetchone()[0]`.")
        if primera != real:
            return f"la función devolvió {primera}, pero la tabla tiene otro número de filas. ¿Contaste la tabla persona?"
        # Una fila de prueba (id fijo y negativo: no gasta la secuencia) para ver que cuenta de verdad.
        directa.execute(
            "INSERT INTO persona (id_persona, nombre, apellido, email) VALUES (-1, 'Prueba', 'Ejercicio', 'prueba@ejercicio.mx')"
        )
        try:
            segunda = contar()
        finally:
            directa.execute("DELETE FROM persona WHERE id_persona = -1")
    if segunda != real + 1:
        return "con una fila más en la tabla la función devolvió lo mismo: ¿devuelve un número fijo en vez de consultar?"
    despues = pool.get_stats()
    if despues.get("requests_num", 0) - antes.get("requests_num", 0) < 2:
        return "la función no pidió la conexión al pool: usa `with Conexion.obtener_conexion() as conexion:`."
    if _en_uso(despues) > _en_uso(antes):
        return "después de llamarla quedó una conexión en uso: pídela con `with` para que vuelva sola al pool."
    return None


def _en_uso(estadisticas: dict[str, int]) -> int:
    return estadisticas["pool_size"] - estadisticas["pool_available"]


registrar(
    "01.1",
    pista="compara tu número con la medida de la celda.",
    probar=_probar_prediccion,
    explicacion="Tu predicción está en el orden de magnitud de lo medido: abrir una conexión cuesta mucho más que usarla.",
)
registrar(
    "01.2",
    pista=("mira la salida del paso 3: con MAX_CON = 5, el pool empezó con 1 conexión abierta. Y relee qué es "
           "TIMEOUT: ¿qué hace quien pide una conexión cuando no hay ninguna libre?"),
    huella="2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
    explicacion="MAX_CON limita las conexiones abiertas a la vez; no cuenta usos ni se abren todas al empezar.",
)
registrar(
    "01.3",
    pista="cuenta con `SELECT count(*) FROM persona` dentro de `with Conexion.obtener_conexion() as conexion:`.",
    probar=_probar_contar,
    explicacion="La función pide una conexión, cuenta y la devuelve al salir del with.",
)
