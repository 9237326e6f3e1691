"""Ejercicios del cuaderno 2: deja que ``with`` devuelva la conexión por ti.

* **02.1** (predice y ejecuta): cuántos procesos distintos del servidor (PID)
  atienden seis ``with`` seguidos en un pool de cinco. Se compara con lo que
  midió la celda del cuaderno, que lo anota con :func:`anotar_medida`.
* **02.2** (opción múltiple): qué pasa con un ``INSERT`` sin confirmar cuando el
  bloque ``with`` termina con una excepción.
* **02.3** (código): ``insertar_dos(p1, p2)`` en un solo ``with``, probada contra
  el servidor con una segunda persona que no cabe en la tabla.
"""

from __future__ import annotations

from typing import Any

from . import registrar

_MEDIDA: dict[str, int] = {}

_CORREOS = ("eva.luna@ejercicio.mx", "leo.sol@ejercicio.mx", "larga@ejercicio.mx")


def anotar_medida(procesos_distintos: int) -> None:
    """Guarda cuántos PID distintos vio la celda de los seis ``with`` (la llama esa celda)."""
    _MEDIDA["procesos"] = int(procesos_distintos)


def _probar_prediccion(prediccion: Any) -> str | None:
    if isinstance(prediccion, float) and prediccion.is_integer():
        prediccion = int(prediccion)
    if isinstance(prediccion, bool) or not isinstance(prediccion, int):
        return "escribe un número entero, por ejemplo `prediccion = 3`."
    if "procesos" not in _MEDIDA:
        return "ejecuta antes la celda de los seis `with`: esta comprobación compara tu número con lo que midió."
    medida = _MEDIDA["procesos"]
    if prediccion == medida:
        return None
    if prediccion == 6:
        return (f"la celda vio {medida}. Un `with` no abre una conexión nueva: pide una al pool, y al salir la "
                "devuelve abierta para el siguiente.")
    if prediccion == 5:
        return (f"la celda vio {medida}. MAX_CON = 5 es un tope, no las conexiones que se abren: el pool solo abre "
                "otra cuando alguien pide y no hay ninguna libre.")
    return f"la celda vio {medida}. Piensa cuántas conexiones había en uso en cada momento."


def _contar(directa: Any) -> int:
    return directa.execute("SELECT count(*) FROM persona WHERE email = ANY(%s)", (list(_CORREOS),)).fetchone()[0]


def _en_uso(estadisticas: dict[str, int]) -> int:
    return estadisticas["pool_size"] - estadisticas["pool_available"]


def _probar_insertar_dos(funcion: Any) -> str | None:
    from ...conexion import Conexion
    from ...persona import Persona
    from ..diagnostico import conexion_directa

    if not callable(funcion):
        return "`insertar_dos` tiene que ser una función: empieza con `def insertar_dos(p1, p2):`."
    buena = Persona(nombre="Eva", apellido="Luna", email=_CORREOS[0])
    otra = Persona(nombre="Leo", apellido="Sol", email=_CORREOS[1])
    larga = Persona(nombre="X" * 60, apellido="Larga", email=_CORREOS[2])  # nombre admite 50 caracteres
    pool = Conexion.obtener_pool()
    en_uso_antes = _en_uso(pool.get_stats())
    with conexion_directa() as directa:
        directa.execute("DELETE FROM persona WHERE email = ANY(%s)", (list(_CORREOS),))
        try:
            try:
                funcion(buena, larga)
            except Exception:
                pass  # lo esperado: la segunda persona no cabe
            else:
                return ("con una segunda persona de nombre demasiado largo (60 caracteres; caben 50) la función "
                        "no lanzó ningún error. ¿Capturaste la excepción dentro?")
            if _contar(directa):
                return ("la primera persona se guardó aunque la segunda falló: los dos INSERT tienen que ir en "
                        "un solo bloque `with`, que hace rollback de los dos.")
            funcion(buena, otra)
            if _contar(directa) != 2:
                return "con dos personas válidas deberían guardarse las dos."
            if _en_uso(pool.get_stats()) > en_uso_antes:
                return "después de llamarla quedó una conexión en uso: pídela con `with` para que vuelva sola al pool."
            return None
        finally:
            directa.execute("DELETE FROM persona WHERE email = ANY(%s)", (list(_CORREOS),))


registrar(
    "02.1",
    pista="compara tu número con lo que midió la celda.",
    probar=_probar_prediccion,
    explicacion="Cada with devolvió la conexión antes de que el siguiente la pidiera: el pool no tuvo que abrir otra.",
)
registrar(
    "02.2",
    pista=("ejecutar un INSERT no lo guarda: lo guarda el commit. Y el bloque with tiene su salida "
           "preparada también para cuando hay una excepción."),
    huella="3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
    explicacion="Al salir por una excepción, with hace rollback y después devuelve la conexión al pool.",
)
registrar(
    "02.3",
    pista="un solo `with Conexion.obtener_conexion() as conexion:` con los dos `conexion.execute(...)` dentro.",
    probar=_probar_insertar_dos,
    explicacion="Un solo with es una sola transacción: o se guardan las dos personas o ninguna.",
)
