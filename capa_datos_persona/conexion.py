"""La clase ``Conexion``: un único pool de conexiones para toda la aplicación.

Es la pieza central del curso. Sigue la guía de la lección:

* ``with Conexion.obtener_conexion() as conexion:`` presta una conexión y la
  devuelve sola al salir del bloque (``commit`` si todo fue bien, ``rollback``
  si hubo una excepción).
* ``Conexion.obtener_conexion_manual()`` presta una conexión con ``getconn()``;
  entonces **tú** debes devolverla con ``Conexion.liberar_conexion(conexion)``.
* ``Conexion.cerrar_conexiones()`` cierra el pool entero.

Además vigila lo que ``psycopg_pool`` deja pasar en silencio: devolver dos
veces la misma conexión (cuando el pool ya se la prestó a otro) o devolver algo
que no salió de este pool. Esos errores se rechazan con un mensaje en español.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, ClassVar, ContextManager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from .errores import ErrorConexionBD, ErrorDevolucion, ErrorTipoDevolucion
from .fugas import DetectorFugas, origen_de_llamada
from .logger_base import log
from .servidor import Destino, enmascarar, ocultar_rutas, usar_servidor


Observador = Callable[[str, "psycopg.Connection | None"], None]
"""Función que recibe cada suceso del pool: ``(evento, conexion)``."""


class PoolObservable(ConnectionPool):
    """Un ``ConnectionPool`` normal que además avisa de cada préstamo y devolución.

    Los observadores (por ejemplo el registrador de ocupación) reciben los
    eventos ``"obtenida"``, ``"devuelta"``, ``"timeout"`` y ``"cerrado"``. Sin
    observadores el coste es una comprobación de lista vacía por operación.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.observadores: list[Observador] = []
        super().__init__(*args, **kwargs)

    def _avisar(self, evento: str, conexion: psycopg.Connection | None = None) -> None:
        for observador in list(self.observadores):
            observador(evento, conexion)

    def getconn(self, timeout: float | None = None) -> psycopg.Connection:
        try:
            conexion = super().getconn(timeout)
        except PoolTimeout:
            if self.observadores:
                self._avisar("timeout")
            raise
        if self.observadores:
            self._avisar("obtenida", conexion)
        return conexion

    def putconn(self, conn: psycopg.Connection) -> None:
        super().putconn(conn)
        if self.observadores:
            self._avisar("devuelta", conn)

    def close(self, timeout: float = 5.0) -> None:
        cerrado_antes = self.closed
        super().close(timeout)
        if self.observadores and not cerrado_antes:
            self._avisar("cerrado")


class Conexion:
    """Acceso al pool de conexiones del curso (solo métodos de clase).

    Los atributos de clase se pueden cambiar *antes* de crear el pool (o
    después de ``cerrar_conexiones()``, porque el siguiente ``obtener_*`` crea
    uno nuevo con los valores vigentes)::

        Conexion.TIMEOUT = 10
    """

    MIN_CON: ClassVar[int] = 1
    """Conexiones que el pool mantiene abiertas aunque nadie las use."""
    MAX_CON: ClassVar[int] = 5
    """Máximo de conexiones prestadas a la vez (las "5 disponibles" de la lección)."""
    TIMEOUT: ClassVar[float] = 3.0
    """Segundos que espera quien pide una conexión si no hay libres.

    ``psycopg_pool`` espera 30 s por defecto; en clase 3 s bastan para ver el
    ``PoolTimeout`` sin aburrirse.
    """
    NOMBRE_POOL: ClassVar[str] = "pool_persona"
    """Nombre del pool: aparece en los mensajes de ``psycopg_pool``."""
    VERIFICAR: ClassVar[bool] = False
    """Si es ``True``, el pool comprueba cada conexión antes de prestarla
    (``check=ConnectionPool.check_connection``): sobrevive a un reinicio del
    servidor a cambio de una ida y vuelta más por préstamo."""

    _pool: ClassVar[PoolObservable | None] = None
    _destino: ClassVar[Destino | None] = None
    _cerrojo: ClassVar[threading.RLock] = threading.RLock()
    # Conexiones prestadas con obtener_conexion_manual() -> pool que las prestó.
    _manuales: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()
    # Conexiones que ya volvieron al pool por liberar_conexion().
    _devueltas: ClassVar[weakref.WeakSet] = weakref.WeakSet()
    _detector: ClassVar[DetectorFugas | None] = None

    # --- El pool -----------------------------------------------------------------

    @classmethod
    def nombre_aplicacion(cls) -> str:
        """``application_name`` de las sesiones de este pool en el servidor.

        Incluye el número de proceso para distinguir este kernel de otros
        cuadernos abiertos que usan el mismo servidor (``pg_stat_activity``).
        """
        return f"capa_datos_persona:{os.getpid()}"

    @classmethod
    def obtener_pool(cls) -> PoolObservable:
        """Devuelve el pool, creándolo (y abriéndolo) la primera vez.

        Antes de crearlo prueba una conexión directa: si el servidor no responde
        o la contraseña es incorrecta, falla enseguida con un
        :class:`~capa_datos_persona.errores.ErrorConexionBD` que dice qué hacer,
        en lugar de dejar al pool reintentando en silencio hasta el ``TIMEOUT``.
        """
        with cls._cerrojo:
            if cls._pool is None:
                cls._pool = cls._crear_pool()
            return cls._pool

    @classmethod
    def _crear_pool(cls) -> PoolObservable:
        destino = usar_servidor()
        ajustes = {
            "application_name": cls.nombre_aplicacion(),
            # libpq no acepta menos de 2 s de espera al conectar.
            "connect_timeout": max(2, int(round(cls.TIMEOUT))),
        }
        cls._probar_servidor(destino, ajustes)
        pool = PoolObservable(
            destino.conninfo,
            min_size=cls.MIN_CON,
            max_size=cls.MAX_CON,
            timeout=cls.TIMEOUT,
            name=cls.NOMBRE_POOL,
            kwargs=ajustes,
            check=ConnectionPool.check_connection if cls.VERIFICAR else None,
            open=False,  # abrirlo explícitamente evita el DeprecationWarning de psycopg_pool
        )
        pool.open(wait=True, timeout=max(cls.TIMEOUT, 5.0))
        cls._destino = destino
        log.debug(
            f"Pool '{cls.NOMBRE_POOL}' creado: MIN_CON={cls.MIN_CON}, MAX_CON={cls.MAX_CON}, "
            f"TIMEOUT={cls.TIMEOUT:g} s, servidor {destino.tipo}"
        )
        return pool

    @staticmethod
    def _probar_servidor(destino: Destino, ajustes: dict[str, object]) -> None:
        try:
            with psycopg.connect(destino.conninfo, autocommit=True, **ajustes):  # type: ignore[arg-type]
                pass
        except psycopg.Error as exc:
            host, puerto = destino.host_y_puerto()
            detalle = ocultar_rutas(enmascarar(" ".join(str(exc).split()) or type(exc).__name__))
            if "password" in str(exc).lower() or "authentication" in str(exc).lower():
                causa = "el servidor respondió, pero rechazó el usuario o la contraseña"
                remedio = "Revisa el usuario y la contraseña de DATABASE_URL / PGUSER / PGPASSWORD."
            elif "does not exist" in str(exc).lower():
                causa = "el servidor respondió, pero la base de datos o el usuario no existen"
                remedio = "Crea la base de datos (por ejemplo `createdb test_db`) o corrige su nombre."
            else:
                causa = "no hay un servidor escuchando ahí o no responde"
                remedio = (
                    "Arranca tu servidor o corrige host y puerto en DATABASE_URL / PGHOST / PGPORT; "
                    "o borra esas variables para usar el PostgreSQL embebido del curso."
                )
            raise ErrorConexionBD(
                f"No se pudo conectar con PostgreSQL en {host}:{puerto} ({destino.tipo}): {causa}. "
                f"{remedio} Detalle: {detalle}"
            ) from None

    @classmethod
    def destino(cls) -> Destino | None:
        """El servidor al que está conectado el pool actual (``None`` sin pool)."""
        return cls._destino

    # --- Prestar y devolver conexiones ----------------------------------------------

    @classmethod
    def obtener_conexion(cls) -> ContextManager[psycopg.Connection]:
        """Gestor de contexto del pool: ``with Conexion.obtener_conexion() as conexion:``.

        Al salir del bloque la conexión vuelve sola al pool: con ``commit`` si el
        bloque terminó bien y con ``rollback`` si salió por una excepción.
        """
        return cls.obtener_pool().connection()

    @classmethod
    def obtener_conexion_manual(cls, timeout: float | None = None) -> psycopg.Connection:
        """Presta una conexión con ``getconn()``. Hay que devolverla con :meth:`liberar_conexion`.

        Si no hay conexiones libres espera ``timeout`` segundos (por defecto
        ``TIMEOUT``) y lanza ``psycopg_pool.PoolTimeout``.
        """
        pool = cls.obtener_pool()
        detector = cls._detector
        try:
            conexion = pool.getconn(timeout=timeout)
        except PoolTimeout:
            if detector is not None:
                detector.antes_de_timeout()
            raise
        with cls._cerrojo:
            cls._manuales[conexion] = pool
            cls._devueltas.discard(conexion)
        if detector is not None:
            detector.prestada(conexion, origen_de_llamada(sys._getframe(1)))
        return conexion

    @classmethod
    def liberar_conexion(cls, conexion: psycopg.Connection) -> None:
        """Devuelve al pool una conexión de :meth:`obtener_conexion_manual` (``putconn()``).

        Rechaza con :class:`~capa_datos_persona.errores.ErrorDevolucion` lo que
        ``psycopg_pool`` aceptaría en silencio o explicaría en inglés: devolver
        dos veces, devolver una conexión de un bloque ``with`` o de otro pool.
        """
        if not isinstance(conexion, psycopg.Connection):
            raise ErrorTipoDevolucion(
                "liberar_conexion() espera una conexión obtenida con "
                f"Conexion.obtener_conexion_manual(), pero recibió un {type(conexion).__name__}."
            )
        with cls._cerrojo:
            pool = cls._manuales.pop(conexion, None)
            if pool is None:
                raise ErrorDevolucion(cls._motivo_rechazo(conexion))
            cls._devueltas.add(conexion)
        if cls._detector is not None:
            cls._detector.devuelta(conexion)
        pool.putconn(conexion)
        log.debug(f"Regresamos la conexión al pool: id={id(conexion)}")

    @classmethod
    def _motivo_rechazo(cls, conexion: psycopg.Connection) -> str:
        ident = f"id={id(conexion)}"
        if conexion in cls._devueltas:
            return (
                f"La conexión {ident} ya se devolvió al pool '{cls.NOMBRE_POOL}'; no se puede devolver "
                "dos veces (el pool pudo prestársela ya a otro). Después de liberar_conexion() "
                "no vuelvas a usar esa variable."
            )
        origen = getattr(conexion, "_pool", None)
        if origen is not None and origen is cls._pool:
            return (
                f"La conexión {ident} es del pool '{cls.NOMBRE_POOL}' pero no se obtuvo con "
                "obtener_conexion_manual(): si viene de `with Conexion.obtener_conexion()`, "
                "se devuelve sola al salir del bloque."
            )
        if origen is not None:
            return (
                f"La conexión {ident} viene de otro pool ('{origen.name}'), no del pool "
                f"'{cls.NOMBRE_POOL}'. Devuélvela al pool que te la prestó."
            )
        return (
            f"La conexión {ident} no salió de ningún pool (¿se creó con psycopg.connect()?). "
            "Ciérrala con conexion.close(); liberar_conexion() es solo para conexiones "
            "de obtener_conexion_manual()."
        )

    @classmethod
    def prestadas_manualmente(cls) -> int:
        """Cuántas conexiones de ``obtener_conexion_manual()`` siguen sin devolver."""
        with cls._cerrojo:
            return len(cls._manuales)

    # --- Detector de fugas ------------------------------------------------------------

    @classmethod
    def activar_detector_fugas(cls, umbral: float = 5.0, avisar: bool = True, vigilar: bool = False) -> DetectorFugas:
        """Empieza a anotar dónde y cuándo se pide cada conexión manual.

        :param umbral: segundos a partir de los cuales una conexión retenida es sospechosa.
        :param avisar: escribir un ``WARNING`` al pasar el umbral y una nota al volver.
        :param vigilar: revisar el umbral también desde un hilo (si no, se revisa en
            cada préstamo, devolución o informe).
        """
        cls.desactivar_detector_fugas()
        cls._detector = DetectorFugas(umbral=umbral, avisar=avisar, vigilar=vigilar)
        log.debug(f"Detector de fugas activado: umbral {umbral:g} s")
        return cls._detector

    @classmethod
    def desactivar_detector_fugas(cls) -> None:
        """Deja de vigilar (coste cero a partir de aquí)."""
        detector, cls._detector = cls._detector, None
        if detector is not None:
            detector.detener()
            log.debug("Detector de fugas desactivado")

    @classmethod
    def detector_fugas(cls) -> DetectorFugas | None:
        """El detector activo, o ``None``."""
        return cls._detector

    # --- Cierre --------------------------------------------------------------------

    @classmethod
    def cerrar_conexiones(cls) -> None:
        """Cierra el pool y todas sus conexiones libres.

        * Quien esté esperando una conexión recibe ``psycopg_pool.PoolClosed``.
        * Las conexiones aún prestadas siguen funcionando; se cierran cuando se
          devuelven.
        * El **siguiente** ``obtener_pool()`` / ``obtener_conexion*()`` crea un
          pool **nuevo** con los valores vigentes de ``MIN_CON``, ``MAX_CON`` y
          ``TIMEOUT`` (el objeto pool viejo queda cerrado para siempre).
        """
        with cls._cerrojo:
            pool, cls._pool, cls._destino = cls._pool, None, None
        if pool is None:
            return
        pool.close()
        if cls._detector is not None:
            cls._detector.pool_cerrado()
        log.debug("Pool de conexiones cerrado correctamente.")
