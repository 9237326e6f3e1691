"""Fallos del servidor: provocarlos a propósito y ver cómo los vive el pool.

Un pool guarda conexiones abiertas mucho tiempo. Mientras tanto la sesión de
una de ellas puede terminar: un administrador con ``pg_terminate_backend``, un
reinicio del servidor, un plazo del servidor (``idle_session_timeout``) o un
corte de red. Python no se entera hasta que vuelve a usar la conexión, y
entonces recibe un ``psycopg.OperationalError`` (la subclase depende de la
causa: ``AdminShutdown``, ``IdleSessionTimeout``... o ninguna, sin SQLSTATE, si
se cortó la red). Este módulo provoca esos fallos y anota lo que ve el código
que usa el pool:

* :func:`cortar_sesion_prestada`: corta en el servidor la sesión de una
  conexión que tienes prestada.
* :func:`cortar_sesiones_del_pool`: corta todas las sesiones del pool de este
  proceso. Para el pool es lo mismo que un reinicio del servidor, y sirve con
  cualquier servidor porque no toca las sesiones de nadie más.
* :class:`IntermediarioRed`: un intermediario TCP en ``127.0.0.1`` entre
  psycopg y el servidor, que se puede **cortar** (la red se cae) o
  **enmudecer** (la red tira los paquetes sin avisar), sin tocar la red del equipo.
* :func:`experimento_sesion_cortada`: corta la sesión de una conexión prestada,
  intenta usarla, la devuelve y comprueba que el pool la repone.
* :func:`consulta_en_red_muda`: una consulta que se queda esperando cuando la
  red deja de pasar datos sin avisar.
* :func:`reiniciar_con_pool_abierto`: reinicia el servidor con el pool abierto y
  cuenta cuántos usos posteriores fallan, con ``Conexion.VERIFICAR`` o sin él.

Solo se reinicia el servidor **embebido** del curso: un servidor propio
(``DATABASE_URL`` o variables ``PG*``) nunca se reinicia desde aquí.
"""
from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg

from ..conexion import Conexion
from ..errores import ErrorServidorEmbebido
from ..logger_base import log
from ..servidor import elegir_servidor, reiniciar_embebido, usar_servidor
from .diagnostico import conexion_directa, sesiones_del_pool
from .esperas import esperar_hasta

if TYPE_CHECKING:
    import pandas as pd

    from .ocupacion import RegistradorOcupacion

ESPERA_MAXIMA = 5.0
"""Segundos que, como mucho, se espera a que el servidor o el pool terminen un cambio."""


# --- Provocar fallos -----------------------------------------------------------------


def terminar_sesion(pid: int) -> bool:
    """Corta desde el servidor la sesión ``pid`` (``pg_terminate_backend``), como haría un administrador.

    La conexión de Python que la usaba no se entera hasta su siguiente consulta.
    Devuelve ``True`` si la sesión existía.
    """
    with conexion_directa() as propia:
        return bool(propia.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0])


def esperar_fin_de_sesiones(pids: Collection[int], espera: float = ESPERA_MAXIMA) -> bool:
    """Espera a que esas sesiones desaparezcan de ``pg_stat_activity``.

    ``pg_terminate_backend`` solo manda la señal; el proceso del servidor tarda
    un instante en terminar. Devuelve ``True`` si ya no queda ninguna.
    """
    lista = list(pids)
    if not lista:
        return True
    consulta = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ANY(%s)"
    with conexion_directa() as propia:
        return esperar_hasta(lambda: propia.execute(consulta, (lista,)).fetchone()[0], espera)


def cortar_sesion_prestada(conexion: psycopg.Connection) -> bool:
    """Corta desde el servidor la sesión de una conexión prestada y espera a que termine.

    Es lo que haría un administrador con ``pg_terminate_backend``. La conexión
    de Python sigue pareciendo abierta (``conexion.closed`` es ``False``) hasta
    que se usa: la siguiente consulta falla. Devuelve ``True`` si la sesión
    existía y ya terminó.
    """
    pid = conexion.info.backend_pid
    if not terminar_sesion(pid):
        return False
    log.debug(f"Sesión cortada en el servidor: pid={pid}")
    return esperar_fin_de_sesiones([pid])


def cortar_sesiones_del_pool() -> int:
    """Corta en el servidor **todas** las sesiones del pool de este proceso y espera a que terminen.

    Para el pool es como un reinicio del servidor: sus conexiones libres quedan
    rotas sin que lo sepa. Solo afecta a las sesiones con el ``application_name``
    de este proceso (:meth:`Conexion.nombre_aplicacion`), así que se puede usar
    también con tu propio servidor. Devuelve cuántas sesiones cortó.
    """
    with conexion_directa() as propia:
        pids = [int(fila["pid"]) for fila in sesiones_del_pool(propia)]
    cortadas = [pid for pid in pids if terminar_sesion(pid)]
    esperar_fin_de_sesiones(cortadas)
    log.debug(f"Sesiones del pool cortadas en el servidor: {len(cortadas)}")
    return len(cortadas)


def esperar_pool_completo(tamano: int | None = None, espera: float = ESPERA_MAXIMA) -> bool:
    """Espera a que el pool tenga ``tamano`` conexiones abiertas y todas libres.

    El pool repone en segundo plano, **una por una**, las conexiones que
    descarta: conserva su tamaño, sea cual sea ``MIN_CON``. Por defecto
    ``tamano`` es ``Conexion.MIN_CON`` (el tamaño de un pool recién creado que
    no ha crecido). Devuelve ``True`` si lo consiguió a tiempo.
    """
    objetivo = Conexion.MIN_CON if tamano is None else tamano
    pool = Conexion.obtener_pool()

    def completo() -> bool:
        stats = pool.get_stats()
        return stats["pool_size"] == stats["pool_available"] == objetivo

    return esperar_hasta(completo, espera)


def _mensaje(exc: BaseException) -> str:
    """El texto de una excepción en una sola línea."""
    return " ".join(str(exc).split())


# --- Experimento 1: una sesión cortada mientras está prestada --------------------------


@dataclass(frozen=True)
class ResultadoCorte:
    """Lo que pasó al cortar la sesión de una conexión prestada."""

    excepcion: str | None
    """Clase de la excepción de la consulta tras el corte (``None`` si no falló)."""
    mensaje: str
    """Su mensaje."""
    es_operational_error: bool
    """``True`` si la excepción es un ``psycopg.OperationalError`` (o una subclase)."""
    descartadas: int
    """Cuánto subió ``returns_bad`` en ``get_stats()``: conexiones rotas que el pool tiró al recibirlas."""
    pool_repuesto: bool
    """``True`` si el pool volvió a tener tantas conexiones abiertas, y libres, como antes del corte."""
    sesion_nueva: bool
    """``True`` si la siguiente conexión prestada usa otra sesión del servidor (otro PID)."""


def experimento_sesion_cortada(registro: RegistradorOcupacion | None = None, pausa: float = 0.2) -> ResultadoCorte:
    """Presta una conexión, corta su sesión en el servidor, intenta usarla y la devuelve.

    Después espera a que el pool reponga la conexión descartada y hace un uso
    normal con ``with``. Entre paso y paso espera ``pausa`` segundos para que se
    vea en una gráfica de ocupación. Si le pasas un ``registro``
    (:class:`~capa_datos_persona.ocupacion.RegistradorOcupacion` ya en marcha),
    le añade los eventos ``"sesión cortada"`` y ``"consulta fallida"``.
    Usa el pool actual y no deja ninguna conexión prestada.
    """

    def anotar(nombre: str) -> None:
        if registro is not None:
            registro.evento(nombre)

    pool = Conexion.obtener_pool()
    estadisticas = pool.get_stats()
    malas_antes = estadisticas.get("returns_bad", 0)
    tamano_antes = max(estadisticas["pool_size"], Conexion.MIN_CON)
    error: psycopg.Error | None = None
    time.sleep(pausa)
    conexion = Conexion.obtener_conexion_manual()
    pid_antes = conexion.info.backend_pid
    try:
        time.sleep(pausa)
        cortar_sesion_prestada(conexion)
        anotar("sesión cortada")
        time.sleep(pausa)
        try:
            conexion.execute("SELECT 1")
        except psycopg.Error as exc:
            error = exc
            anotar("consulta fallida")
        time.sleep(pausa)
    finally:
        Conexion.liberar_conexion(conexion)
    repuesto = esperar_pool_completo(tamano_antes)
    time.sleep(pausa)
    with Conexion.obtener_conexion() as nueva:
        pid_nuevo = nueva.info.backend_pid
        nueva.execute("SELECT 1")
        time.sleep(pausa / 2)
    time.sleep(pausa)
    return ResultadoCorte(
        excepcion=None if error is None else type(error).__name__,
        mensaje="" if error is None else _mensaje(error),
        es_operational_error=isinstance(error, psycopg.OperationalError),
        descartadas=pool.get_stats().get("returns_bad", 0) - malas_antes,
        pool_repuesto=repuesto,
        sesion_nueva=pid_nuevo != pid_antes,
    )


# --- Cortes de red: un intermediario TCP que se puede cortar -----------------------------


def _destino_del_servidor() -> tuple[int, object]:
    """Familia y dirección del socket donde escucha el servidor (Unix o TCP), según libpq."""
    with conexion_directa() as propia:
        host, puerto, direccion = propia.info.host, propia.info.port, propia.info.hostaddr
    if host.startswith("/"):  # libpq da la carpeta del socket Unix
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{puerto}"
    return socket.AF_INET6 if ":" in (direccion or "") else socket.AF_INET, (direccion or host, int(puerto))


class IntermediarioRed:
    """Un intermediario TCP en ``127.0.0.1`` entre psycopg y el servidor: una «red» que podemos romper.

    Cada conexión de :meth:`conectar` pasa por él: el intermediario copia los
    bytes en los dos sentidos. Así se puede simular lo que hace una red de
    verdad sin tocar la del equipo ni el servidor:

    * :meth:`cortar`: cierra los dos extremos de cada conexión, como un cable
      desenchufado o un equipo de red que se reinicia. La siguiente consulta
      recibe un ``psycopg.OperationalError`` **sin SQLSTATE** («server closed the
      connection unexpectedly»): el servidor no llegó a decir nada.
    * :meth:`enmudecer`: deja de pasar datos **sin cerrar nada**, como un
      cortafuegos que tira los paquetes en silencio. Una consulta se queda
      esperando una respuesta que no llegará.

    Úsalo con ``with`` (al salir se corta todo y se deja de escuchar) o llama a
    :meth:`cerrar`. Solo escucha en ``127.0.0.1``, en un puerto libre que elige
    el sistema.
    """

    def __init__(self) -> None:
        self._familia, self._direccion = _destino_del_servidor()
        self._escucha = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._escucha.bind(("127.0.0.1", 0))
        self._escucha.listen()
        self._escucha.settimeout(0.05)  # para que el hilo que acepta note a tiempo la orden de parar
        self.puerto: int = self._escucha.getsockname()[1]
        """Puerto de ``127.0.0.1`` donde escucha el intermediario."""
        self._mudo = threading.Event()
        self._parar = threading.Event()
        self._cerrojo = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._hilos: list[threading.Thread] = []
        self._aceptador = threading.Thread(target=self._aceptar, name="intermediario-red", daemon=True)
        self._aceptador.start()

    def conectar(self) -> psycopg.Connection:
        """Una conexión **directa** (sin pool, en ``autocommit``) que pasa por el intermediario.

        Usa los mismos datos que el pool del curso (usuario, base de datos,
        contraseña) y el ``application_name`` del pool, para que
        ``cerrar_y_comprobar()`` la vea si alguien se la deja abierta.
        Ciérrala con ``close()``.
        """
        destino = usar_servidor()
        ajustes: dict[str, object] = {"hostaddr": "127.0.0.1", "port": str(self.puerto)}
        if self._familia == socket.AF_UNIX:
            ajustes["host"] = "127.0.0.1"  # el servidor escucha en un socket Unix; nosotros, en TCP
        return psycopg.connect(
            destino.conninfo,
            autocommit=True,
            application_name=Conexion.nombre_aplicacion(),
            connect_timeout=5,
            **ajustes,
        )

    def cortar(self) -> None:
        """Corta la red: cierra las dos puntas de cada conexión que pasa por aquí."""
        with self._cerrojo:
            abiertos, self._sockets = self._sockets, []
        for extremo in abiertos:
            try:
                extremo.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            extremo.close()
        if abiertos:
            cuantas = len(abiertos) // 2
            log.debug(f"Red cortada: {cuantas} {'conexión interrumpida' if cuantas == 1 else 'conexiones interrumpidas'}")

    def enmudecer(self) -> None:
        """A partir de ahora los datos se tiran sin avisar a nadie (nada se cierra)."""
        self._mudo.set()

    def cerrar(self) -> None:
        """Corta todo, deja de escuchar y espera a que terminen sus hilos."""
        self._parar.set()
        self.cortar()
        self._aceptador.join()
        self._escucha.close()
        for hilo in self._hilos:
            hilo.join(timeout=2)

    def __enter__(self) -> IntermediarioRed:
        return self

    def __exit__(self, *_: object) -> None:
        self.cerrar()

    def _aceptar(self) -> None:
        while not self._parar.is_set():
            try:
                cliente, _ = self._escucha.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            cliente.settimeout(None)
            try:
                servidor = socket.socket(self._familia, socket.SOCK_STREAM)
                servidor.connect(self._direccion)
            except OSError:
                cliente.close()
                continue
            with self._cerrojo:
                self._sockets += [cliente, servidor]
            for origen, destino in ((cliente, servidor), (servidor, cliente)):
                hilo = threading.Thread(target=self._copiar, args=(origen, destino), daemon=True)
                hilo.start()
                self._hilos.append(hilo)

    def _copiar(self, origen: socket.socket, destino: socket.socket) -> None:
        try:
            while datos := origen.recv(65536):
                if not self._mudo.is_set():  # enmudecida, la red se «traga» los datos
                    destino.sendall(datos)
        except OSError:
            pass
        try:  # una punta se cerró: que la otra se entere, como en una red de verdad
            destino.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass(frozen=True)
class ResultadoRed:
    """Lo que vio una consulta cuando la red falló."""

    excepcion: str | None
    """Clase de la excepción (``None`` si la consulta funcionó)."""
    sqlstate: str | None
    """Su SQLSTATE: ``None`` si el servidor no llegó a mandar ningún código de error."""
    mensaje: str
    """Primera línea del mensaje."""
    es_operational_error: bool
    """``True`` si la excepción es un ``psycopg.OperationalError`` (o una subclase)."""
    esperando_al_cortar: bool
    """``True`` si la consulta **seguía esperando** cuando se cortó la red."""
    segundos: float
    """Lo que tardó la consulta en terminar (con error o sin él)."""


def consulta_en_red_muda(espera: float = 1.0) -> ResultadoRed:
    """Lanza una consulta cuando la red ya no pasa datos, espera ``espera`` segundos y corta la red.

    Abre una conexión por un :class:`IntermediarioRed`, lo enmudece y ejecuta
    ``SELECT 1`` en un hilo aparte. Sin nadie que avise, la consulta espera la
    respuesta indefinidamente: pasados ``espera`` segundos se anota si seguía
    esperando y se corta la red para liberarla. No deja nada abierto.
    """
    fin: list[float] = []
    errores: list[BaseException] = []
    with IntermediarioRed() as red:
        conexion = red.conectar()
        try:
            conexion.execute("SELECT 1")  # la red funciona
            red.enmudecer()

            def consultar() -> None:
                try:
                    conexion.execute("SELECT 1")
                except BaseException as exc:  # noqa: BLE001 - se anota para el resultado
                    errores.append(exc)
                finally:
                    fin.append(time.perf_counter())

            inicio = time.perf_counter()
            hilo = threading.Thread(target=consultar, name="consulta-red-muda", daemon=True)
            hilo.start()
            hilo.join(espera)
            esperando = hilo.is_alive()
            red.cortar()
            hilo.join(ESPERA_MAXIMA)
        finally:
            conexion.close()
    error = errores[0] if errores else None
    return ResultadoRed(
        excepcion=None if error is None else type(error).__name__,
        sqlstate=getattr(error, "sqlstate", None),
        mensaje="" if error is None else str(error).splitlines()[0],
        es_operational_error=isinstance(error, psycopg.OperationalError),
        esperando_al_cortar=esperando,
        segundos=(fin[0] if fin else time.perf_counter()) - inicio,
    )


# --- Experimento 2: reiniciar el servidor con el pool abierto ---------------------------


@dataclass(frozen=True)
class Uso:
    """Un uso ``with Conexion.obtener_conexion()`` después del fallo."""

    numero: int
    """1 para el primer uso tras el fallo, 2 para el segundo..."""
    error: str | None
    """Clase de la excepción que recibió el código (``None`` si funcionó)."""
    mensaje: str
    """Mensaje de esa excepción (``""`` si funcionó)."""
    segundos: float
    """Lo que tardó el uso completo, incluida la espera por una conexión."""
    sesion_nueva: bool | None
    """``True`` si funcionó en una sesión abierta después del fallo (``None`` si falló)."""


@dataclass(frozen=True)
class ResultadoReinicio:
    """Lo que pasó al reiniciar el servidor con el pool abierto."""

    verificar: bool
    """Valor de ``Conexion.VERIFICAR`` del pool del experimento."""
    ociosas: int
    """Conexiones libres que tenía el pool justo antes del reinicio."""
    usos: tuple[Uso, ...]
    """Los usos posteriores al reinicio, en orden."""
    tiempo_recuperacion: float | None
    """Segundos desde que el servidor volvió hasta que terminó el primer uso que funcionó."""
    segundos_reinicio: float
    """Lo que tardó el reinicio."""
    estadisticas: dict[str, int] = field(default_factory=dict)
    """``get_stats()`` del pool al terminar (``returns_bad``, ``connections_lost``...)."""

    @property
    def fallos(self) -> int:
        """Cuántos usos recibieron una excepción."""
        return sum(uso.error is not None for uso in self.usos)

    @property
    def excepciones(self) -> dict[str, int]:
        """Cada excepción distinta (``"Clase: mensaje"``) y cuántas veces apareció."""
        return dict(Counter(f"{uso.error}: {uso.mensaje}" for uso in self.usos if uso.error is not None))

    @property
    def primer_exito(self) -> int | None:
        """Número del primer uso que funcionó (``None`` si ninguno)."""
        return next((uso.numero for uso in self.usos if uso.error is None), None)

    @property
    def exitos_en_sesion_nueva(self) -> bool:
        """``True`` si todos los usos que funcionaron lo hicieron en sesiones posteriores al fallo."""
        return all(uso.sesion_nueva for uso in self.usos if uso.error is None)

    def tabla(self) -> pd.DataFrame:
        """Una fila por uso: ``uso``, ``resultado`` (``"bien"`` o la excepción) y ``sesión nueva``.

        En los usos que fallaron, ``sesión nueva`` vale ``"—"``.
        """
        import pandas as pd

        filas = [
            (uso.numero, "bien", uso.sesion_nueva) if uso.error is None else (uso.numero, uso.error, "—")
            for uso in self.usos
        ]
        return pd.DataFrame(filas, columns=["uso", "resultado", "sesión nueva"]).set_index("uso")


def reiniciar_con_pool_abierto(
    verificar: bool,
    ociosas: int = 2,
    usos: int = 5,
    reiniciar: Callable[[], object] | None = None,
) -> ResultadoReinicio:
    """Reinicia el servidor mientras el pool tiene ``ociosas`` conexiones libres y prueba ``usos`` bloques ``with``.

    Pasos: pone ``Conexion.VERIFICAR = verificar`` y crea un pool nuevo
    (``cerrar_conexiones()``); toma ``ociosas`` conexiones a la vez y las
    devuelve, para que queden abiertas y libres; reinicia el servidor; y hace
    ``usos`` bloques ``with Conexion.obtener_conexion()`` seguidos, anotando
    cuáles fallan y con qué excepción (no la deja escapar).

    Sin verificar, cada conexión libre de antes del reinicio falla **una vez**
    en el código del usuario. Con ``VERIFICAR = True`` el pool las prueba antes
    de prestarlas y las cambia por otras nuevas; pero entre dos pruebas fallidas
    seguidas espera (1 s la primera vez y el doble cada vez siguiente), y esa
    espera cuenta dentro del ``TIMEOUT`` de la petición.

    :param reiniciar: función que provoca el fallo. Por defecto reinicia el
        servidor embebido (:func:`~capa_datos_persona.servidor.reiniciar_embebido`)
        y, si usas tu propio servidor, se niega con ``ErrorServidorEmbebido``.
        :func:`cortar_sesiones_del_pool` lo simula con cualquier servidor.

    El pool queda abierto al terminar y ``Conexion.VERIFICAR`` con el valor pedido.
    """
    if reiniciar is None:
        if not elegir_servidor().embebido:
            raise ErrorServidorEmbebido(
                "Solo se reinicia el PostgreSQL embebido del curso, y estás usando tu propio servidor "
                f"({elegir_servidor().tipo}): no se toca. Para simular el reinicio con él, pasa "
                "reiniciar=fallos.cortar_sesiones_del_pool (corta solo las sesiones de este pool)."
            )
        reiniciar = reiniciar_embebido
    if not 1 <= ociosas <= Conexion.MAX_CON:
        raise ValueError(f"ociosas debe estar entre 1 y MAX_CON = {Conexion.MAX_CON}; llegó {ociosas!r}.")
    if usos < 1:
        raise ValueError(f"usos debe ser al menos 1; llegó {usos!r}.")

    Conexion.VERIFICAR = verificar
    Conexion.cerrar_conexiones()
    prestadas = [Conexion.obtener_conexion_manual() for _ in range(ociosas)]
    for conexion in prestadas:
        Conexion.liberar_conexion(conexion)
    pool = Conexion.obtener_pool()
    esperar_pool_completo(max(ociosas, Conexion.MIN_CON))

    with conexion_directa() as propia:
        antes_del_fallo = propia.execute("SELECT clock_timestamp()").fetchone()[0]
    inicio = time.perf_counter()
    reiniciar()
    fin_reinicio = time.perf_counter()
    log.debug(f"Servidor reiniciado con el pool abierto (VERIFICAR={verificar})")

    resultados: list[Uso] = []
    recuperacion: float | None = None
    for numero in range(1, usos + 1):
        comienzo = time.perf_counter()
        try:
            with Conexion.obtener_conexion() as conexion:
                nueva = conexion.execute(
                    "SELECT backend_start > %s FROM pg_stat_activity WHERE pid = pg_backend_pid()", (antes_del_fallo,)
                ).fetchone()[0]
        except psycopg.Error as exc:
            resultados.append(Uso(numero, type(exc).__name__, _mensaje(exc), time.perf_counter() - comienzo, None))
            continue
        final = time.perf_counter()
        if recuperacion is None:
            recuperacion = final - fin_reinicio
        resultados.append(Uso(numero, None, "", final - comienzo, bool(nueva)))

    return ResultadoReinicio(
        verificar=verificar,
        ociosas=ociosas,
        usos=tuple(resultados),
        tiempo_recuperacion=recuperacion,
        segundos_reinicio=fin_reinicio - inicio,
        estadisticas=dict(pool.get_stats()),
    )
