"""Ejercicios del cuaderno 4 (devolver la conexión como la encontraste).

* 04.1 «Predice y ejecuta»: el ``statement_timeout`` que ve el siguiente usuario
  de una conexión en la que alguien hizo ``SET``.
* 04.2 Función ``restablecer(conexion)`` para ``reset=``: se prueba en un pool
  crudo de ``psycopg_pool`` contra el servidor de verdad.
* 04.3 Opción múltiple: un ajuste solo para tu transacción (``SET LOCAL``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ...conexion import Conexion
from ...servidor import usar_servidor
from ..esperas import esperar_hasta
from . import huella, registrar

_HUELLA_04_1 = "93e3d8c5b10657d2884f177488b689aadf82a83f962237cb602b3314386ab3b7"


def _probar_prediccion(prediccion: Any) -> str | None:
    texto = str(prediccion).strip().casefold().replace(" ", "").replace('"', "").replace("'", "")
    if texto.isdigit():
        texto += "s"
    if huella(texto) == _HUELLA_04_1:
        return None
    return (
        "mira lo que imprimió el segundo usuario. `with` confirma o deshace la transacción, "
        "pero ¿deshace un SET que ya quedó en la sesión?"
    )


registrar(
    "04.1",
    pista='escribe el valor como lo muestra SHOW, entre comillas: "0" o "5s".',
    probar=_probar_prediccion,
    explicacion=(
        "El pool no limpia la sesión al recibir la conexión: el SET del primero sigue ahí, y "
        "también su search_path y su autocommit."
    ),
)

_USOS_04_2 = 8
"""Préstamos que se comprueban después de ensuciar la conexión (más de 5: psycopg prepara la consulta repetida)."""


def _valores_de_partida() -> dict[str, str]:
    """Los valores de una sesión recién abierta en este servidor (no se suponen: se leen)."""
    with psycopg.connect(usar_servidor().conninfo, application_name=Conexion.nombre_aplicacion()) as nueva:
        return {
            "statement_timeout": nueva.execute("SHOW statement_timeout").fetchone()[0],
            "search_path": nueva.execute("SHOW search_path").fetchone()[0],
        }


def _ensuciar(conexion: psycopg.Connection) -> None:
    conexion.autocommit = True
    conexion.execute("SET statement_timeout = '5s'")
    conexion.execute("SET search_path = pg_catalog")
    conexion.execute("CREATE TEMP TABLE apuntes (nota text)")


def _mirar_siguiente(
    conexion: psycopg.Connection, uso: int, pid: int, partida: dict[str, str], errores: list[Exception]
) -> str | None:
    """Lo que está mal en la conexión que recibe el siguiente usuario (``None`` si nada)."""
    if conexion.info.backend_pid != pid and errores:
        error = errores[0]
        porque = ""
        if isinstance(error, psycopg.errors.InvalidSqlStatementName):
            porque = (
                " (¿DISCARD ALL? Borra las sentencias preparadas que psycopg reutiliza: "
                "usa RESET ALL y DISCARD TEMP)"
            )
        return (
            f"en el préstamo n.º {uso} el pool ya había tirado la conexión: tu función lanzó "
            f"{type(error).__name__}: {' '.join(str(error).split())}{porque}. El pool descarta "
            "la conexión si reset= falla."
        )
    if conexion.info.backend_pid != pid:
        return (
            f"en el préstamo n.º {uso} el pool ya había tirado la conexión y abierto otra: tu función "
            "la deja con una transacción abierta o la cierra (mira el WARNING). El pool la quiere "
            "abierta y sin transacción (IDLE)."
        )
    if conexion.autocommit:
        return (
            "el siguiente usuario recibe autocommit = True: es un ajuste del objeto de psycopg, "
            "no de la sesión, y ni RESET ni DISCARD lo tocan."
        )
    for nombre, valor in partida.items():
        visto = conexion.execute(f"SHOW {nombre}").fetchone()[0]
        if visto != valor:
            return f"el siguiente usuario ve {nombre} = {visto}; una sesión nueva tiene {valor}."
    if conexion.execute("SELECT to_regclass('pg_temp.apuntes') IS NOT NULL").fetchone()[0]:
        return "la tabla temporal del usuario anterior sigue ahí: RESET ALL no borra tablas."
    # una consulta que se repite en cada préstamo: psycopg la preparará en el servidor
    conexion.execute("SELECT count(*) FROM pg_class WHERE oid > %s", (uso,)).fetchone()
    return None


def _probar_restablecer(funcion: Callable[[psycopg.Connection], Any]) -> str | None:
    if not callable(funcion):
        return "restablecer debe ser una función: empieza con `def restablecer(conexion):`."
    partida = _valores_de_partida()
    errores: list[Exception] = []

    def vigilada(conexion: psycopg.Connection) -> None:
        # El pool se traga el error de reset= (solo deja un WARNING): lo anotamos para explicarlo.
        try:
            funcion(conexion)
        except Exception as exc:
            errores.append(exc)
            raise

    fallo = None
    with ConnectionPool(
        usar_servidor().conninfo,
        kwargs={"application_name": Conexion.nombre_aplicacion()},
        min_size=1,
        max_size=1,
        timeout=10,
        name="pool_prueba_04_2",
        reset=vigilada,
    ) as pool:
        with pool.connection() as conexion:
            pid = conexion.info.backend_pid
            _ensuciar(conexion)
        for uso in range(1, _USOS_04_2 + 1):
            try:
                with pool.connection() as conexion:
                    fallo = _mirar_siguiente(conexion, uso, pid, partida, errores)
            except psycopg.errors.InvalidSqlStatementName:
                fallo = (
                    f"en el préstamo n.º {uso}, una consulta repetida falló: tu función borra las sentencias "
                    "preparadas que psycopg reutiliza (¿DISCARD ALL?). Usa RESET ALL y DISCARD TEMP."
                )
            if fallo:
                break
        # Con reset=, la última devolución la termina un hilo del pool: que acabe antes de cerrarlo.
        esperar_hasta(lambda: pool.get_stats()["pool_available"] == 1, 5.0)
    return fallo


registrar(
    "04.2",
    pista=(
        "repasa lo que RESET ALL no deshizo en el experimento, y recuerda que el pool "
        "quiere recibir la conexión sin transacción abierta (IDLE)."
    ),
    probar=_probar_restablecer,
    explicacion=(
        "Con reset=restablecer, cada conexión vuelve al pool con los valores de partida, "
        "sin tablas temporales, sin autocommit y sin transacción: el pool la conserva."
    ),
)

registrar(
    "04.3",
    pista=(
        "un SET confirmado se queda en la sesión hasta que alguien lo cambie; close() no devuelve "
        "(trampa 3). ¿Qué ajuste termina solo cuando termina la transacción?"
    ),
    huella="3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
    explicacion=(
        "SET LOCAL dura hasta el commit o rollback con que el `with` termina la transacción: "
        "el siguiente usuario recibe el valor de antes."
    ),
)
