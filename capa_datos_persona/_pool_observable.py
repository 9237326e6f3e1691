"""``PoolObservable``: el ``ConnectionPool`` del curso, que avisa de cada préstamo.

Es un ``psycopg_pool.ConnectionPool`` normal con dos añadidos, ninguno visible
para quien solo usa :class:`~capa_datos_persona.conexion.Conexion`:

* **Observadores.** Funciones que reciben cada suceso del pool
  (``"obtenida"``, ``"devuelta"``, ``"timeout"``, ``"cerrado"`` y
  ``"en_cola"``, cuando una petición tiene que esperar) con la conexión (o
  ``None``). El laboratorio (registrador de ocupación, tablero) se apoya en
  ellos; sin observadores el coste es comprobar una lista vacía.
  :meth:`PoolObservable.esperas` dice cuánto le queda a cada petición en cola.
* **Una espera interrumpida no se lleva un hueco del pool.** En psycopg_pool
  3.3.3, si quien espera una conexión recibe un ``KeyboardInterrupt`` (el botón
  *Interrupt* de Jupyter), su petición se queda en la cola de espera del pool
  (``_getconn_unchecked`` solo limpia ante ``Exception``): la siguiente
  conexión devuelta se le entrega a esa petición muerta y el pool queda con un
  hueco menos para siempre. Aquí se anota qué petición puso en la cola cada
  hilo y, si la espera se interrumpe, se retira de la cola (o se devuelve la
  conexión que ya le habían entregado).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

Observador = Callable[[str, "psycopg.Connection | None"], None]
"""Función que recibe cada suceso del pool: ``(evento, conexion)``."""


class _ColaDeEspera(deque):  # type: ignore[type-arg]
    """La cola ``_waiting`` del pool, que recuerda la última petición que puso cada hilo.

    También anota cuándo entró cada petición y con qué plazo (``timeout``), y avisa.
    """

    def __init__(self, al_encolar: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.ultima = threading.local()
        self.plazos: dict[int, tuple[float, float]] = {}  # id(petición) -> (entrada, plazo)
        self._al_encolar = al_encolar

    def append(self, peticion: Any) -> None:
        self.ultima.peticion = peticion
        super().append(peticion)
        vivas = {id(p) for p in self}  # (pocas) las que ya salieron de la cola se olvidan
        self.plazos = {i: v for i, v in self.plazos.items() if i in vivas}
        self.plazos[id(peticion)] = (time.monotonic(), getattr(self.ultima, "plazo", 0.0))
        if self._al_encolar is not None:
            self._al_encolar()


def _paso_por(exc: BaseException, funcion: str) -> bool:
    """``True`` si la excepción se lanzó dentro de ``funcion`` (según su traza)."""
    traza = exc.__traceback__
    while traza is not None:
        if traza.tb_frame.f_code.co_name == funcion:
            return True
        traza = traza.tb_next
    return False


class PoolObservable(ConnectionPool):
    """Un ``ConnectionPool`` que avisa de cada préstamo y que no pierde huecos por una interrupción."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.observadores: list[Observador] = []
        super().__init__(*args, **kwargs)
        with self._lock:
            self._waiting = _ColaDeEspera(self._al_encolar)

    def _al_encolar(self) -> None:
        if self.observadores:
            self._avisar("en_cola")

    def esperas(self) -> list[float]:
        """Segundos que le quedan a cada petición en cola hasta su ``PoolTimeout`` (negativo: ya caducó).

        Una petición que ya recibió ``PoolTimeout`` sigue en la cola de
        ``psycopg_pool`` (y en ``requests_waiting``) hasta que el pool entrega la
        siguiente conexión: aquí aparece con un valor negativo.
        """
        cola: _ColaDeEspera = self._waiting  # type: ignore[assignment]
        ahora = time.monotonic()
        with self._lock:
            return [inicio + plazo - ahora for inicio, plazo in (cola.plazos.get(id(p), (ahora, 0.0)) for p in cola)]

    def _avisar(self, evento: str, conexion: psycopg.Connection | None = None) -> None:
        for observador in list(self.observadores):
            observador(evento, conexion)

    def getconn(self, timeout: float | None = None) -> psycopg.Connection:
        cola: _ColaDeEspera = self._waiting  # type: ignore[assignment]
        cola.ultima.peticion = None
        cola.ultima.plazo = self.timeout if timeout is None else timeout
        try:
            conexion = super().getconn(timeout)
        except PoolTimeout:
            if self.observadores:
                self._avisar("timeout")
            raise
        except BaseException as exc:
            # Solo si la interrupción llegó dentro de la espera: en los demás puntos
            # (la comprobación de la conexión, por ejemplo) psycopg_pool ya la devuelve.
            if _paso_por(exc, "_getconn_unchecked"):
                self._retirar_peticion(cola.ultima.peticion)
            raise
        if self.observadores:
            try:
                self._avisar("obtenida", conexion)
            except BaseException:
                super().putconn(conexion)  # un observador que falla no se lleva la conexión
                raise
        return conexion

    def _retirar_peticion(self, peticion: Any) -> None:
        """Saca de la cola una petición cuya espera se interrumpió (``KeyboardInterrupt``...)."""
        if peticion is None:
            return
        with peticion._cond:
            entregada = peticion.conn
            if entregada is None and peticion.error is None:
                # Marcada como fallida: el pool ya no le entregará ninguna conexión.
                peticion.error = PoolTimeout("espera interrumpida")
        with self._lock:
            try:
                self._waiting.remove(peticion)
            except ValueError:
                pass
        if entregada is not None:  # llegó a recibir una conexión: vuelve al pool
            entregada._pool = self
            super().putconn(entregada)

    def putconn(self, conn: psycopg.Connection) -> None:
        super().putconn(conn)
        if self.observadores:
            self._avisar("devuelta", conn)

    def close(self, timeout: float = 5.0) -> None:
        cerrado_antes = self.closed
        super().close(timeout)
        if self.observadores and not cerrado_antes:
            self._avisar("cerrado")


class PoolObservableAsincrono(AsyncConnectionPool):
    """El gemelo asíncrono de :class:`PoolObservable` (mismos observadores, misma cola a prueba de Interrupt).

    ``psycopg_pool`` ya limpia su cola ante ``asyncio.CancelledError``; un
    ``KeyboardInterrupt`` que llegue dentro de la espera se trata como en el
    pool con hilos. Todo ocurre en un solo bucle de eventos: no hacen falta cerrojos.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.observadores: list[Observador] = []
        super().__init__(*args, **kwargs)
        self._waiting = _ColaDeEspera(self._al_encolar)

    def _al_encolar(self) -> None:
        if self.observadores:
            self._avisar("en_cola")

    def _avisar(self, evento: str, conexion: Any = None) -> None:
        for observador in list(self.observadores):
            observador(evento, conexion)

    async def getconn(self, timeout: float | None = None) -> Any:
        cola: _ColaDeEspera = self._waiting  # type: ignore[assignment]
        cola.ultima.peticion = None
        cola.ultima.plazo = self.timeout if timeout is None else timeout
        try:
            conexion = await super().getconn(timeout)
        except PoolTimeout:
            if self.observadores:
                self._avisar("timeout")
            raise
        except BaseException as exc:
            peticion = cola.ultima.peticion
            if peticion is not None and _paso_por(exc, "_getconn_unchecked"):
                if peticion.conn is None and peticion.error is None:
                    peticion.error = PoolTimeout("espera interrumpida")
                if peticion in self._waiting:
                    self._waiting.remove(peticion)
                if peticion.conn is not None:
                    peticion.conn._pool = self
                    await super().putconn(peticion.conn)
            raise
        if self.observadores:
            try:
                self._avisar("obtenida", conexion)
            except BaseException:
                await super().putconn(conexion)
                raise
        return conexion

    async def putconn(self, conn: Any) -> None:
        await super().putconn(conn)
        if self.observadores:
            self._avisar("devuelta", conn)

    async def close(self, timeout: float = 5.0) -> None:
        cerrado_antes = self.closed
        await super().close(timeout)
        if self.observadores and not cerrado_antes:
            self._avisar("cerrado")
