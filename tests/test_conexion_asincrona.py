"""``ConexionAsincrona``: la lección con ``await``, contra PostgreSQL real."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from capa_datos_persona import ConexionAsincrona, ErrorBucleDeEventos, ErrorDevolucion


@pytest.fixture(autouse=True)
def pool_asincrono_limpio() -> Iterator[None]:
    originales = (ConexionAsincrona.MAX_CON, ConexionAsincrona.TIMEOUT)
    yield
    if ConexionAsincrona._pool is not None:  # limpieza: cerrarlo en un bucle propio si quedó abierto
        pool, ConexionAsincrona._pool, ConexionAsincrona._bucle = ConexionAsincrona._pool, None, None
        try:
            asyncio.run(pool.close())
        except (Exception, asyncio.CancelledError):
            # Un pool creado en otro bucle (ya cerrado) no se puede cerrar desde este: en Python
            # 3.13 sus trabajadores salen con CancelledError, que no es una Exception y, sin
            # atraparla, tumbaba las pruebas siguientes de la sesión.
            pass
    ConexionAsincrona.MAX_CON, ConexionAsincrona.TIMEOUT = originales


def test_with_manual_y_cierre() -> None:
    async def leccion() -> tuple[int, int]:
        pids = set()
        for _ in range(6):  # seis usos seguidos con un pool de cinco
            async with ConexionAsincrona.obtener_conexion() as conexion:
                pids.add((await (await conexion.execute("SELECT pg_backend_pid()")).fetchone())[0])
        manual = await ConexionAsincrona.obtener_conexion_manual()
        try:
            await manual.execute("SELECT 1")
        finally:
            await ConexionAsincrona.liberar_conexion(manual)
        pendientes = ConexionAsincrona.prestadas_manualmente()
        await ConexionAsincrona.cerrar_conexiones()
        return len(pids), pendientes

    assert asyncio.run(leccion()) == (1, 0)


def test_agotamiento_y_devolucion_doble() -> None:
    ConexionAsincrona.MAX_CON = 2

    async def agotar() -> None:
        prestadas = [await ConexionAsincrona.obtener_conexion_manual() for _ in range(2)]
        with pytest.raises(PoolTimeout):
            await ConexionAsincrona.obtener_conexion_manual(timeout=0.2)
        for conexion in prestadas:
            await ConexionAsincrona.liberar_conexion(conexion)
        with pytest.raises(ErrorDevolucion, match="ya se devolvió"):
            await ConexionAsincrona.liberar_conexion(prestadas[0])
        await ConexionAsincrona.cerrar_conexiones()

    asyncio.run(agotar())


def test_cancelar_una_espera_no_pierde_un_hueco() -> None:
    ConexionAsincrona.MAX_CON = 1

    async def cancelar() -> None:
        retenida = await ConexionAsincrona.obtener_conexion_manual()
        espera = asyncio.create_task(ConexionAsincrona.obtener_conexion_manual(timeout=10))
        await asyncio.sleep(0.2)
        espera.cancel()
        with pytest.raises(asyncio.CancelledError):
            await espera
        await ConexionAsincrona.liberar_conexion(retenida)
        otra = await ConexionAsincrona.obtener_conexion_manual(timeout=1)
        await ConexionAsincrona.liberar_conexion(otra)
        await ConexionAsincrona.cerrar_conexiones()

    asyncio.run(cancelar())


def test_otro_bucle_de_eventos_se_explica_en_lugar_de_colgarse() -> None:
    asyncio.run(ConexionAsincrona.obtener_pool())
    with pytest.raises(ErrorBucleDeEventos, match="otro bucle de eventos"):
        asyncio.run(ConexionAsincrona.obtener_conexion_manual())


def test_devolver_algo_que_no_es_conexion() -> None:
    conexion = psycopg.connect  # cualquier cosa que no es una AsyncConnection
    with pytest.raises(TypeError):
        asyncio.run(ConexionAsincrona.liberar_conexion(conexion))  # type: ignore[arg-type]
