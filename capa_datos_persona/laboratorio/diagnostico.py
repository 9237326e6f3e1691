"""Mirar el servidor desde fuera del pool, sin alterar lo que se observa.

Aquí solo se mira (lo que corta sesiones está en :mod:`.fallos`). Estas funciones usan una conexión **propia** (no prestada por el pool), en modo
``autocommit``, con ``application_name`` distinto al del pool: así no ocupan un
hueco del pool ni aparecen contadas como sesiones suyas.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ..conexion import Conexion
from ..servidor import usar_servidor
from .esperas import esperar_hasta

APLICACION_OBSERVADOR = "capa_datos_persona:observador"

CONTAR_SESIONES = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
"""Cuenta las sesiones de un ``application_name`` (el registrador de ocupación la usa en cada muestra)."""

_SESIONES = """
SELECT pid, state, backend_start, state_change
FROM pg_stat_activity
WHERE application_name = %s
ORDER BY backend_start
"""


def abrir_conexion_directa() -> psycopg.Connection:
    """Abre una conexión dedicada (fuera del pool). Ciérrala tú con ``close()``."""
    return psycopg.connect(
        usar_servidor().conninfo, autocommit=True, application_name=APLICACION_OBSERVADOR, connect_timeout=5
    )


@contextmanager
def conexion_directa() -> Iterator[psycopg.Connection]:
    """Una conexión dedicada (fuera del pool) que se cierra al salir del ``with``."""
    with abrir_conexion_directa() as conexion:
        yield conexion


def sesiones_del_pool(conexion: psycopg.Connection | None = None) -> list[dict[str, object]]:
    """Las sesiones que el servidor ve abiertas por el pool de este proceso (``pg_stat_activity``)."""
    if conexion is None:
        with conexion_directa() as propia:
            return sesiones_del_pool(propia)
    with conexion.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(_SESIONES, (Conexion.nombre_aplicacion(),)).fetchall()


def contar_sesiones_del_pool(conexion: psycopg.Connection | None = None) -> int:
    """Cuántas sesiones tiene abiertas en el servidor el pool de este proceso."""
    if conexion is None:
        with conexion_directa() as propia:
            return contar_sesiones_del_pool(propia)
    return conexion.execute(CONTAR_SESIONES, (Conexion.nombre_aplicacion(),)).fetchone()[0]


def cerrar_y_comprobar(espera: float = 3.0) -> None:
    """Cierra el pool y comprueba que no queda nada abierto (la última celda de cada cuaderno).

    Muestra cuántas conexiones de ``obtener_conexion_manual()`` quedaron sin
    devolver y cuántas sesiones de este kernel ve todavía el servidor (espera
    hasta ``espera`` segundos a que terminen de cerrarse).
    """
    sin_devolver = Conexion.prestadas_manualmente()
    Conexion.cerrar_conexiones()
    with conexion_directa() as propia:
        esperar_hasta(lambda: contar_sesiones_del_pool(propia) == 0, espera, pausa=0.05)
        sesiones = contar_sesiones_del_pool(propia)
    print(f"Conexiones obtenidas a mano sin devolver: {sin_devolver}")
    print(f"Sesiones de este kernel abiertas en el servidor: {sesiones}")
