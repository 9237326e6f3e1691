"""La clase ``Conexion``: un único pool de conexiones para toda la aplicación.

Es la clase de la lección, crecida. Lo que la lección enseña está arriba y en
el mismo orden:

* ``with Conexion.obtener_conexion() as conexion:`` presta una conexión
  (``pool.connection()``) y la devuelve sola al salir del bloque: ``commit`` si
  todo fue bien, ``rollback`` si hubo una excepción.
* ``Conexion.obtener_conexion_manual()`` presta una conexión con
  ``pool.getconn()``; entonces **tú** la devuelves con
  ``Conexion.liberar_conexion(conexion)``, que llama a ``pool.putconn()``.
* ``Conexion.cerrar_conexiones()`` cierra el pool entero (``pool.close()``).

Lo que el curso añade a la lección, en módulos privados para que esta clase
siga siendo corta: el pool se crea la primera vez que se pide (y antes se
prueba el servidor, :mod:`._prueba_servidor`); las devoluciones equivocadas se
rechazan con un mensaje en español (:mod:`._prestamos`); y el pool avisa de
cada préstamo al laboratorio (:mod:`._pool_observable`).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import ClassVar, ContextManager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ._pool_observable import PoolObservable
from ._prestamos import Prestamos, Vigilante
from ._prueba_servidor import ajustes_de_conexion, probar_servidor
from .logger_base import log
from .servidor import Destino, conninfo_vigente, usar_servidor


class Conexion:
    """Acceso al pool de conexiones del curso (solo métodos de clase).

    Los atributos de clase se pueden cambiar *antes* de crear el pool, o
    después de ``cerrar_conexiones()`` (el siguiente ``obtener_*`` crea un pool
    nuevo con los valores vigentes)::

        Conexion.TIMEOUT = 10
    """

    MIN_CON: ClassVar[int] = 1
    """Conexiones que el pool abre al empezar (``min_size``)."""
    MAX_CON: ClassVar[int] = 5
    """Máximo de conexiones abiertas, y por tanto prestadas a la vez (``max_size``)."""
    TIMEOUT: ClassVar[float] = 3.0
    """Segundos que espera quien pide una conexión si no hay libres (``psycopg_pool``: 30 s)."""
    NOMBRE_POOL: ClassVar[str] = "pool_persona"
    """Nombre del pool: aparece en los mensajes de ``psycopg_pool``."""
    VERIFICAR: ClassVar[bool] = False
    """Con ``True`` el pool prueba cada conexión antes de prestarla
    (``check=ConnectionPool.check_connection``): sobrevive a un reinicio del
    servidor a cambio de una ida y vuelta más por préstamo."""

    _pool: ClassVar[PoolObservable | None] = None
    _servidor: ClassVar[Destino | None] = None
    _cerrojo: ClassVar[threading.RLock] = threading.RLock()
    _prestamos: ClassVar[Prestamos] = Prestamos()

    # --- Prestar y devolver: la lección -------------------------------------------------

    @classmethod
    def obtener_conexion(cls) -> ContextManager[psycopg.Connection]:
        """Gestor de contexto del pool: ``with Conexion.obtener_conexion() as conexion:``."""
        return cls.obtener_pool().connection()

    @classmethod
    def obtener_conexion_manual(cls, timeout: float | None = None) -> psycopg.Connection:
        """Presta una conexión con ``getconn()``. Devuélvela con :meth:`liberar_conexion`.

        Si no hay conexiones libres espera ``timeout`` segundos (por defecto
        ``TIMEOUT``) y lanza ``psycopg_pool.PoolTimeout``.
        """
        pool = cls.obtener_pool()
        vigilante = cls._prestamos.vigilante
        try:
            conexion = pool.getconn(timeout=timeout)
        except PoolTimeout:
            if vigilante is not None:
                vigilante.antes_de_timeout()
            raise
        cls._prestamos.anotar(conexion, pool)
        if vigilante is not None:
            vigilante.prestada(conexion, sys._getframe(1))
        return conexion

    @classmethod
    def liberar_conexion(cls, conexion: psycopg.Connection) -> None:
        """Devuelve al pool una conexión de :meth:`obtener_conexion_manual` (``putconn()``).

        Rechaza con :class:`~capa_datos_persona.errores.ErrorDevolucion` lo que
        ``psycopg_pool`` aceptaría en silencio o explicaría en inglés (ver
        :mod:`capa_datos_persona._prestamos`: qué se detecta y qué no).
        """
        pool = cls._prestamos.para_devolver(
            conexion, psycopg.Connection, cls._pool, cls.NOMBRE_POOL, "Conexion.obtener_conexion_manual()"
        )
        if cls._prestamos.vigilante is not None:
            cls._prestamos.vigilante.devuelta(conexion)
        pool.putconn(conexion)
        log.debug(f"Regresamos la conexión al pool: id={id(conexion)}")

    @classmethod
    def cerrar_conexiones(cls) -> None:
        """Cierra el pool y todas sus conexiones libres.

        * Quien esté esperando una conexión recibe ``psycopg_pool.PoolClosed``.
        * Las conexiones aún prestadas siguen funcionando; se cierran al devolverlas.
        * El **siguiente** ``obtener_*()`` crea un pool **nuevo** con los valores
          vigentes (el objeto pool viejo queda cerrado para siempre).
        """
        with cls._cerrojo:
            pool, cls._pool, cls._servidor = cls._pool, None, None
        if pool is None:
            return
        pool.close()
        if cls._prestamos.vigilante is not None:
            cls._prestamos.vigilante.pool_cerrado()
        log.debug("Pool de conexiones cerrado correctamente.")

    # --- El pool ---------------------------------------------------------------------------

    @classmethod
    def obtener_pool(cls) -> PoolObservable:
        """El pool, creado y abierto la primera vez que se pide.

        Antes de crearlo prueba una conexión directa: si el servidor no responde
        o rechaza la contraseña, falla enseguida con un
        :class:`~capa_datos_persona.errores.ErrorConexionBD` que dice qué hacer.
        """
        with cls._cerrojo:
            if cls._pool is None:
                cls._pool = cls._crear_pool()
            return cls._pool

    @classmethod
    def _crear_pool(cls) -> PoolObservable:
        servidor = usar_servidor()
        ajustes = ajustes_de_conexion(servidor, cls.nombre_aplicacion(), cls.TIMEOUT)
        probar_servidor(servidor, ajustes)
        pool = PoolObservable(
            conninfo_vigente(servidor),
            min_size=cls.MIN_CON,
            max_size=cls.MAX_CON,
            timeout=cls.TIMEOUT,
            name=cls.NOMBRE_POOL,
            kwargs=ajustes,
            check=ConnectionPool.check_connection if cls.VERIFICAR else None,
            open=False,  # abrirlo explícitamente evita el DeprecationWarning de psycopg_pool
        )
        pool.open(wait=True, timeout=max(cls.TIMEOUT, 5.0))
        cls._servidor = servidor
        log.debug(
            f"Pool '{cls.NOMBRE_POOL}' creado: MIN_CON={cls.MIN_CON}, MAX_CON={cls.MAX_CON}, "
            f"TIMEOUT={cls.TIMEOUT:g} s, servidor {servidor.tipo}"
        )
        return pool

    @classmethod
    def servidor_conectado(cls) -> Destino | None:
        """El servidor al que está conectado el pool actual (``None`` si no hay pool)."""
        return cls._servidor

    @classmethod
    def nombre_aplicacion(cls) -> str:
        """``application_name`` de las sesiones del pool, con el número de proceso.

        Así ``pg_stat_activity`` distingue este kernel de otros cuadernos abiertos.
        """
        return f"capa_datos_persona:{os.getpid()}"

    @classmethod
    def prestadas_manualmente(cls) -> int:
        """Cuántas conexiones de ``obtener_conexion_manual()`` siguen sin devolver."""
        return cls._prestamos.pendientes()

    @classmethod
    def vigilar_prestamos(cls, vigilante: Vigilante | None) -> Vigilante | None:
        """Pone (o quita, con ``None``) quien se entera de cada préstamo manual; devuelve el anterior.

        Lo usa el detector de fugas del laboratorio. Sin vigilante, el coste es
        una comprobación ``is None`` por préstamo.
        """
        anterior, cls._prestamos.vigilante = cls._prestamos.vigilante, vigilante
        return anterior
