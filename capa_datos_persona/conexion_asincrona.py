"""``ConexionAsincrona``: la clase ``Conexion`` para código ``async`` (FastAPI, aiohttp...).

Mismo vocabulario y mismas protecciones que :class:`~capa_datos_persona.conexion.Conexion`,
sobre ``psycopg_pool.AsyncConnectionPool``; cada método lleva ``await``::

    async with ConexionAsincrona.obtener_conexion() as conexion:
        await conexion.execute("SELECT 1")

    conexion = await ConexionAsincrona.obtener_conexion_manual()
    try:
        ...
    finally:
        await ConexionAsincrona.liberar_conexion(conexion)

    await ConexionAsincrona.cerrar_conexiones()

Un pool asíncrono pertenece al **bucle de eventos** donde se abrió: usarlo desde
otro bucle se queda colgado. Esta clase lo detecta y lo explica en español.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

import psycopg

from ._pool_observable import PoolObservableAsincrono
from ._prestamos import Prestamos
from ._prueba_servidor import ajustes_de_conexion, probar_servidor
from .errores import ErrorCapaDatos
from .logger_base import log
from .servidor import Destino, conninfo_vigente, usar_servidor


class ErrorBucleDeEventos(ErrorCapaDatos, RuntimeError):
    """Se usó el pool asíncrono desde un bucle de eventos distinto del suyo."""


class ConexionAsincrona:
    """Acceso al pool asíncrono del curso (solo métodos de clase, todos con ``await``)."""

    MIN_CON: ClassVar[int] = 1
    MAX_CON: ClassVar[int] = 5
    TIMEOUT: ClassVar[float] = 3.0
    NOMBRE_POOL: ClassVar[str] = "pool_persona_async"

    _pool: ClassVar[PoolObservableAsincrono | None] = None
    _bucle: ClassVar[asyncio.AbstractEventLoop | None] = None
    _servidor: ClassVar[Destino | None] = None
    _prestamos: ClassVar[Prestamos] = Prestamos()
    _cerrojo: ClassVar[asyncio.Lock | None] = None
    _cerrojo_bucle: ClassVar[asyncio.AbstractEventLoop | None] = None

    # --- Prestar y devolver -------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def obtener_conexion(cls) -> AsyncIterator[psycopg.AsyncConnection]:
        """``async with ConexionAsincrona.obtener_conexion() as conexion:`` (``pool.connection()``)."""
        pool = await cls.obtener_pool()
        async with pool.connection() as conexion:
            yield conexion

    @classmethod
    async def obtener_conexion_manual(cls, timeout: float | None = None) -> psycopg.AsyncConnection:
        """``await pool.getconn()``. Devuélvela con ``await ConexionAsincrona.liberar_conexion(conexion)``."""
        pool = await cls.obtener_pool()
        conexion = await pool.getconn(timeout=timeout)
        cls._prestamos.anotar(conexion, pool)
        vigilante = cls._prestamos.vigilante
        if vigilante is not None:
            vigilante.prestada(conexion, sys._getframe(1))
        return conexion

    @classmethod
    async def liberar_conexion(cls, conexion: psycopg.AsyncConnection) -> None:
        """``await pool.putconn(conexion)``, con las mismas comprobaciones que ``Conexion.liberar_conexion``."""
        pool = cls._prestamos.para_devolver(
            conexion, psycopg.AsyncConnection, cls._pool, cls.NOMBRE_POOL,
            "await ConexionAsincrona.obtener_conexion_manual()",
        )
        cls._comprobar_bucle()
        if cls._prestamos.vigilante is not None:
            cls._prestamos.vigilante.devuelta(conexion)
        await pool.putconn(conexion)
        log.debug(f"Regresamos la conexión al pool asíncrono: id={id(conexion)}")

    @classmethod
    async def cerrar_conexiones(cls) -> None:
        """Cierra el pool asíncrono (el siguiente ``obtener_*`` abre uno nuevo)."""
        pool, cls._pool, cls._servidor = cls._pool, None, None
        if pool is None:
            return
        cls._comprobar_bucle()
        cls._bucle = None
        await pool.close()
        log.debug("Pool asíncrono cerrado correctamente.")

    # --- El pool ------------------------------------------------------------------------

    @classmethod
    async def obtener_pool(cls) -> PoolObservableAsincrono:
        """El pool asíncrono, creado y abierto (``await pool.open()``) la primera vez."""
        if cls._pool is None:
            bucle = asyncio.get_running_loop()
            if cls._cerrojo is None or cls._cerrojo_bucle is not bucle:
                cls._cerrojo, cls._cerrojo_bucle = asyncio.Lock(), bucle
            async with cls._cerrojo:  # diez tareas que piden a la vez la primera conexión: un solo pool
                if cls._pool is None:
                    await cls._crear_pool(bucle)
        cls._comprobar_bucle()
        return cls._pool

    @classmethod
    async def _crear_pool(cls, bucle: asyncio.AbstractEventLoop) -> None:
        servidor = await asyncio.to_thread(usar_servidor)  # arrancar el embebido bloquea: fuera del bucle
        ajustes = ajustes_de_conexion(servidor, cls.nombre_aplicacion(), cls.TIMEOUT)
        await asyncio.to_thread(probar_servidor, servidor, ajustes)
        pool = PoolObservableAsincrono(
            conninfo_vigente(servidor), min_size=cls.MIN_CON, max_size=cls.MAX_CON, timeout=cls.TIMEOUT,
            name=cls.NOMBRE_POOL, kwargs=ajustes, open=False,
        )
        await pool.open(wait=True, timeout=max(cls.TIMEOUT, 5.0))
        cls._pool, cls._bucle, cls._servidor = pool, bucle, servidor
        log.debug(f"Pool asíncrono '{cls.NOMBRE_POOL}' creado: MIN_CON={cls.MIN_CON}, MAX_CON={cls.MAX_CON}")

    @classmethod
    def _comprobar_bucle(cls) -> None:
        if cls._bucle is None:
            return
        try:
            actual = asyncio.get_running_loop()
        except RuntimeError:
            actual = None
        if actual is not cls._bucle:
            raise ErrorBucleDeEventos(
                f"El pool '{cls.NOMBRE_POOL}' se abrió en otro bucle de eventos (asyncio): usarlo desde este "
                "se quedaría colgado. Usa el pool solo dentro del bucle que lo abrió, o ciérralo allí y abre "
                "uno nuevo en este (en un script: un solo asyncio.run() para todo el programa)."
            )

    @classmethod
    def nombre_aplicacion(cls) -> str:
        """``application_name`` de sus sesiones (distinto del pool con hilos del mismo proceso)."""
        return f"capa_datos_persona_async:{os.getpid()}"

    @classmethod
    def prestadas_manualmente(cls) -> int:
        return cls._prestamos.pendientes()

