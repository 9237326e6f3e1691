"""Las cuentas de los préstamos manuales: qué se puede devolver y por qué no.

``psycopg_pool`` acepta en silencio algunas devoluciones equivocadas y explica
otras en inglés. :class:`Prestamos` anota cada conexión prestada con
``getconn()`` (a través de ``Conexion.obtener_conexion_manual()``) y decide, al
devolverla, si la devolución es válida; si no, da el motivo en español.

Qué detecta y qué no (con las conexiones de ``obtener_conexion_manual()``):

* devolver una conexión que ya se devolvió, mientras nadie la haya vuelto a
  pedir a mano, o cuando el pool la prestó después a un bloque ``with``;
* devolver una conexión de un bloque ``with``, de otro pool o de ningún pool;
* **no** detecta una devolución tardía cuando el pool ya prestó ese mismo
  objeto conexión a otra llamada de ``obtener_conexion_manual()``: para el pool
  (y para estas cuentas) el dueño viejo y el nuevo tienen la misma conexión, y
  la devolución se acepta. Detectarlo exigiría entregar un envoltorio distinto
  en cada préstamo en lugar de la conexión de psycopg.

Un «vigilante» (el detector de fugas del laboratorio) puede pedir que se le
avise de cada préstamo y devolución manual: ver :class:`Vigilante`.
"""

from __future__ import annotations

import threading
import weakref
from types import FrameType
from typing import Any, Protocol

import psycopg

from .errores import ErrorDevolucion, ErrorTipoDevolucion


class Vigilante(Protocol):
    """Lo que necesita quien quiere enterarse de cada préstamo manual."""

    def prestada(self, conexion: psycopg.Connection, marco: FrameType | None) -> None:
        """Se prestó ``conexion``; ``marco`` es el del código que la pidió."""

    def devuelta(self, conexion: psycopg.Connection) -> None:
        """``conexion`` volvió al pool."""

    def antes_de_timeout(self) -> None:
        """Una petición manual está a punto de recibir ``PoolTimeout``."""

    def pool_cerrado(self) -> None:
        """El pool se cerró."""


class Prestamos:
    """Conexiones prestadas a mano y su pool; las ya devueltas, para explicar un rechazo."""

    def __init__(self) -> None:
        self._cerrojo = threading.Lock()
        self._prestadas: weakref.WeakKeyDictionary[psycopg.Connection, Any] = weakref.WeakKeyDictionary()
        self._devueltas: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()
        self.vigilante: Vigilante | None = None

    def anotar(self, conexion: psycopg.Connection, pool: Any) -> None:
        with self._cerrojo:
            self._prestadas[conexion] = pool
            self._devueltas.discard(conexion)

    def retirar(self, conexion: psycopg.Connection) -> Any | None:
        """El pool que prestó ``conexion``, o ``None`` si no se puede devolver; la anota como devuelta."""
        with self._cerrojo:
            pool = self._prestadas.pop(conexion, None)
            if pool is not None:
                self._devueltas.add(conexion)
            return pool

    def para_devolver(self, conexion: Any, clase: type, pool_actual: Any, nombre: str, como_pedirla: str) -> Any:
        """El pool al que hay que devolver ``conexion``; si no se puede devolver, el error en español.

        :param clase: la clase de conexión que se espera (síncrona o asíncrona).
        :param como_pedirla: cómo se pide una conexión manual, para el mensaje de error.
        """
        if not isinstance(conexion, clase):
            raise ErrorTipoDevolucion(
                f"liberar_conexion() espera una conexión obtenida con {como_pedirla}, "
                f"pero recibió un {type(conexion).__name__}."
            )
        pool = self.retirar(conexion)
        if pool is None:
            raise ErrorDevolucion(self.motivo_rechazo(conexion, pool_actual, nombre))
        return pool

    def pendientes(self) -> int:
        with self._cerrojo:
            return len(self._prestadas)

    def olvidar(self) -> None:
        """Olvida todos los préstamos (el pool que los hizo ya no existe)."""
        with self._cerrojo:
            self._prestadas.clear()
            self._devueltas = weakref.WeakSet()

    def motivo_rechazo(self, conexion: psycopg.Connection, pool_actual: Any, nombre: str) -> str:
        """Por qué no se puede devolver ``conexion``, en español y con qué hacer."""
        ident = f"id={id(conexion)}"
        if conexion in self._devueltas:
            return (
                f"La conexión {ident} ya se devolvió al pool '{nombre}'; no se puede devolver "
                "dos veces (el pool pudo prestársela ya a otro). Después de liberar_conexion() "
                "no vuelvas a usar esa variable."
            )
        origen = getattr(conexion, "_pool", None)
        if origen is not None and origen is pool_actual:
            return (
                f"La conexión {ident} es del pool '{nombre}' pero no se obtuvo con "
                "obtener_conexion_manual(): si viene de `with Conexion.obtener_conexion()`, "
                "se devuelve sola al salir del bloque."
            )
        if origen is not None:
            return (
                f"La conexión {ident} viene de otro pool ('{origen.name}'), no del pool "
                f"'{nombre}'. Devuélvela al pool que te la prestó."
            )
        return (
            f"La conexión {ident} no salió de ningún pool (¿se creó con psycopg.connect()?). "
            "Ciérrala con conexion.close(); liberar_conexion() es solo para conexiones "
            "de obtener_conexion_manual()."
        )
