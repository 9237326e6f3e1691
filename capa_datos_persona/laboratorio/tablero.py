"""El tablero del pool: lo que pasa dentro del pool, en directo, mientras corre un experimento.

Uso en un cuaderno::

    from capa_datos_persona.laboratorio.tablero import Tablero

    with Tablero() as tablero:
        ...experimento...
    tablero.repeticion()       # la misma película, animada, para verla otra vez

Mientras corre la celda, el tablero se redibuja en su sitio cada ``refresco``
segundos (0,25 por defecto) desde un hilo aparte, y muestra:

* **una baldosa por conexión**: libre o prestada, desde hace cuánto, y quién la
  pidió (la celda ``In[N]`` y su línea, o la función del hilo que la pidió);
  las plazas hasta ``max_size`` que el pool aún no abrió salen como «sin abrir»;
* **la cola de espera**: cada petición que espera una conexión, con la cuenta
  atrás hasta su ``PoolTimeout`` (:meth:`PoolObservable.esperas`). Una petición
  que ya recibió ``PoolTimeout`` sigue en la cola de ``psycopg_pool`` hasta que
  el pool entrega la siguiente conexión: sale como «caducada, aún en la cola»;
* **las sesiones del servidor** por estado (``pg_stat_activity``: ``idle``,
  ``active``, ``idle in transaction``...), con una consulta por refresco desde
  una conexión propia, fuera del pool;
* **una gráfica pequeña** (SVG) de las conexiones en uso y las peticiones en cola.

Todo sale de los avisos del pool (los mismos que usa
:class:`~capa_datos_persona.laboratorio.ocupacion.RegistradorOcupacion`; el
tablero lleva uno dentro, en :attr:`Tablero.registro`, para dibujar después
``graficas.grafica_ocupacion(tablero.registro)``). Es HTML con estilos en línea,
sin JavaScript ni archivos externos: se ve igual en JupyterLab, en un HTML
exportado y en una web estática.

**Salidas estables.** Al salir del ``with``, el tablero en directo vuelve a su
primera línea (un rótulo fijo) y debajo aparece el **estado final**, con las
cifras que cambian de una ejecución a otra (tiempos, PID, cuentas que dependen
del reparto entre hilos) marcadas con ``<span class="tp-v">`` para que las
pruebas de los cuadernos (nbval) las enmascaren (``tests/sanitize.cfg``).

:meth:`Tablero.repeticion` anima lo registrado con matplotlib (``to_jshtml``):
sobrevive a la exportación a HTML y a una web publicada.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import html
import io
import itertools
import os
import re
import sys
import threading
import time
import uuid
import weakref
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from types import FrameType, TracebackType
from typing import Any

import psycopg

from .._pool_observable import PoolObservable
from ..conexion import Conexion
from .diagnostico import abrir_conexion_directa
from .esperas import esperar_hasta
from .fugas import describir_origen, segundos
from .ocupacion import RegistradorOcupacion

REFRESCO = 0.25
"""Segundos entre dos dibujos del tablero en directo."""

PUNTOS_FINALES = 240
"""Puntos de la gráfica pequeña del estado final (cada uno, el máximo de su trozo del experimento)."""

VENTANA = 30.0
"""Segundos que abarca la gráfica pequeña en directo (los últimos)."""

SESIONES_POR_ESTADO = (
    "SELECT coalesce(state, 'sin estado'), count(*)::int FROM pg_stat_activity "
    "WHERE application_name = %s GROUP BY 1 ORDER BY 1"
)
"""Las sesiones de una aplicación en el servidor, contadas por estado."""

ESTADOS_SERVIDOR = {
    "idle": "en reposo",
    "active": "ejecutando una consulta",
    "idle in transaction": "con una transacción abierta",
    "idle in transaction (aborted)": "con una transacción fallida",
    "fastpath function call": "llamada rápida",
    "disabled": "sin seguimiento",
}
"""Qué significa cada ``state`` de ``pg_stat_activity``."""

# Colores (contraste suficiente en un proyector).
_ROJO, _ROJO_FONDO = "#b71c1c", "#ffebee"
_VERDE, _VERDE_FONDO = "#1b5e20", "#e8f5e9"
_MORADO = "#6a1b9a"
_AMBAR, _AMBAR_FONDO = "#e65100", "#fff3e0"
_GRIS, _GRIS_FONDO = "#616161", "#eeeeee"
_LETRA = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


# --- Quién pidió cada conexión ----------------------------------------------------------------------------------

_PAQUETE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PEGAMENTO = {contextlib.__file__, threading.__file__}
_USUARIO, _DEL_PAQUETE, _DE_PASO = 0, 1, 2
_CLASES: dict[str, int] = {}


def _clasificar(archivo: str) -> int:
    """Qué es un archivo de la pila: código del alumno, del paquete, o de paso (psycopg, contextlib, threading)."""
    if archivo.startswith(_PAQUETE):
        clase = _DEL_PAQUETE
    elif f"{os.sep}psycopg" in archivo or archivo in _PEGAMENTO:
        clase = _DE_PASO
    else:
        clase = _USUARIO
    _CLASES[archivo] = clase
    return clase


_getframe = sys._getframe
_get_ident = threading.get_ident
_reloj = time.perf_counter


def origen_del_prestamo(marco: FrameType | None) -> tuple[str, int, str]:
    """``(archivo, línea, función)`` de quien pidió una conexión, mirando la pila desde ``marco``.

    La regla de :func:`.fugas.origen_de_llamada` (el primer marco fuera de este
    paquete y de ``psycopg``), saltando además ``contextlib`` (el ``with`` de
    ``pool.connection()``) y ``threading``. Si toda la pila es del paquete (un
    hilo que arrancó el propio laboratorio), el origen es la función del hilo:
    el marco del paquete más exterior.
    """
    candidato = None
    while marco is not None:
        codigo = marco.f_code
        clase = _CLASES.get(codigo.co_filename)
        if clase is None:
            clase = _clasificar(codigo.co_filename)
        if clase == _USUARIO:
            return codigo.co_filename, marco.f_lineno, codigo.co_name
        if clase == _DEL_PAQUETE:
            candidato = marco
        marco = marco.f_back
    if candidato is not None:
        return candidato.f_code.co_filename, candidato.f_lineno, candidato.f_code.co_name
    return "desconocido", 0, ""


def nombre_de_hilo(nombre: str) -> str:
    """El nombre de un hilo sin el número que le pone ``threading`` (``Thread-3 (pedir)`` → ``pedir``)."""
    encontrado = re.fullmatch(r"Thread-\d+ \((.+)\)", nombre)
    if encontrado:
        return encontrado.group(1)
    return "secundario" if re.fullmatch(r"Thread-\d+", nombre) else nombre


def describir_prestamo(origen: tuple[str, int, str], hilo: str | None = None) -> str:
    """``celda In[N], línea L`` (o ``función() en archivo.py:L``), con el hilo delante si no es el principal."""
    archivo, linea, funcion = origen
    if archivo.startswith(_PAQUETE):
        texto = f"{funcion}() en {os.path.basename(archivo)}:{linea}"
    else:
        texto = describir_origen((archivo, linea))
    return f"hilo {hilo}: {texto}" if hilo else texto


# --- Lo que se ve en cada instante ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Baldosa:
    """Una conexión del pool (o una plaza sin abrir) en un instante."""

    numero: int
    """Número de la conexión en el tablero (por orden de aparición); 0 en las plazas sin abrir."""
    estado: str
    """``"libre"``, ``"prestada"``, ``"prestada antes"`` (de antes de abrir el tablero), ``"cerrada"``
    (su sesión se cortó y aún no se devolvió) o ``"sin abrir"``."""
    pid: int | None = None
    """PID del proceso del servidor que la atiende."""
    desde: float | None = None
    """Segundos que lleva en ese estado (si se sabe)."""
    origen: str | None = None
    """Quién la pidió (si está prestada): ``celda In[N], línea L``..."""
    prestamos: int = 0
    """Veces que se prestó mientras el tablero miraba."""


@dataclass(frozen=True)
class Foto:
    """El estado del pool en un instante, tal como lo dibuja el tablero."""

    t: float
    """Segundos desde que se abrió el tablero."""
    tamano: int
    maximo: int
    libres: int
    esperando: int
    baldosas: tuple[Baldosa, ...]
    esperas: tuple[float, ...]
    """Segundos que le quedan a cada petición en cola hasta su ``PoolTimeout`` (negativo: caducada)."""
    plazos: tuple[float | None, ...]
    """El plazo total de cada petición en cola (para la barra de la cuenta atrás), si se sabe."""
    sesiones: dict[str, int] | None
    """Sesiones del pool en el servidor por ``state``; ``None`` si no se pudo consultar."""
    cerrado: bool = False

    @property
    def en_uso(self) -> int:
        return self.tamano - self.libres

    @property
    def caducadas(self) -> int:
        return sum(1 for e in self.esperas if e < 0)


@dataclass(slots=True, eq=False)
class _Conocida:
    """Lo que el tablero sabe de una conexión (lo escriben los avisos del pool; lo lee el hilo del tablero)."""

    numero: int
    ref: Any
    pid: int | None
    vista: float
    prestada: tuple[float, tuple[str, int, str], str | None] | None = None
    devuelta: float | None = None
    prestamos: int = 0
    ida: float | None = None  # cuándo se vio cerrada o fuera del pool


def _en_un_kernel() -> bool:
    """``True`` si corremos dentro de un kernel de Jupyter (donde tiene sentido mostrar HTML)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


_REPETICIONES = itertools.count(1)


class Tablero:
    """El tablero en directo de un pool (gestor de contexto).

    :param pool: el pool a mirar; por defecto el de :class:`Conexion`.
    :param refresco: segundos entre dos dibujos (0,25 por defecto).
    :param titulo: lo que dice la cabecera; por defecto ``Tablero del pool «nombre»``.
    :param mostrar: ``True`` lo dibuja en el cuaderno; ``None`` (por defecto),
        solo si corre dentro de un kernel de Jupyter. Con ``False`` sigue
        dibujándose (:attr:`html`) pero no se muestra.
    :param intervalo: el del registrador de ocupación que lleva dentro.
    :param aplicacion: ``application_name`` de las sesiones a contar en el
        servidor; por defecto el del pool de :class:`Conexion`.
    """

    def __init__(
        self,
        pool: PoolObservable | None = None,
        refresco: float = REFRESCO,
        titulo: str | None = None,
        mostrar: bool | None = None,
        intervalo: float = 0.01,
        aplicacion: str | None = None,
    ) -> None:
        if refresco <= 0:
            raise ValueError(f"El refresco del tablero debe ser positivo; llegó {refresco!r} s.")
        self.pool = pool
        self.refresco = refresco
        self.titulo = titulo
        self.mostrar = _en_un_kernel() if mostrar is None else mostrar
        self.aplicacion = aplicacion or Conexion.nombre_aplicacion()
        self.registro = RegistradorOcupacion(pool, intervalo=intervalo, consultar_servidor=False)
        self.refrescos = 0
        """Cuántas veces se redibujó en directo."""
        self.html = ""
        """El último HTML dibujado (en directo o, al terminar, el estado final)."""
        self.final: Foto | None = None
        """La foto del estado final (tras :meth:`detener`)."""
        self._conocidas: dict[int, _Conocida] = {}
        self._cerrojo = threading.Lock()
        self._cerrojo_foto = threading.Lock()
        self._sesiones_historia: list[tuple[float, dict[str, int] | None]] = []
        self._encoladas: list[tuple[float, float, float]] = []  # (t de entrada, t límite, plazo)
        self._hilos: set[int] = set()  # hilos que pidieron o esperaron una conexión
        self._principal = threading.main_thread().ident
        self._t0 = 0.0
        self._conexion: psycopg.Connection | None = None
        self._observador: Any = None
        self._parar = threading.Event()
        self._hilo: threading.Thread | None = None
        self._terminado = False
        self._id_pantalla = f"tablero-{uuid.uuid4().hex}"
        self._mostrado = False
        # Gráfica pequeña en directo: un punto por dibujo, (t, máx. en uso, máx. en cola) desde el anterior
        self._puntos: list[tuple[float, int, int]] = []
        self._ultimo = (0, 0)  # en uso y en cola en la última fila leída del registrador
        self._filas_leidas = 0
        self._maximos = [0, 0]  # máximo en uso, máximo en cola
        self._timeouts = 0
        self._error: str | None = None

    # --- Arrancar y parar -------------------------------------------------------------------------------------

    def iniciar(self) -> Tablero:
        if self._hilo is not None:
            raise RuntimeError("Este tablero ya se abrió; crea uno nuevo para otro experimento.")
        if self.pool is None:
            self.pool = Conexion.obtener_pool()
            self.registro.pool = self.pool
        if self.titulo is None:
            self.titulo = f"Tablero del pool «{self.pool.name}»"
        self._conexion = self._abrir_conexion()
        # Un solo observador (el del registrador, con lo del tablero dentro) y un solo hilo (el del tablero,
        # que hace también las miradas del registrador en cada dibujo).
        self.registro.iniciar(avisos=False, hilo=False)
        self._t0 = self.registro.inicio
        self._observador = self.registro.observador(al_prestar=self._al_prestar, al_encolar=self._al_encolar)
        self.pool.observadores.append(self._observador)
        try:
            primera = self.foto()
            self.html = self._dibujar(primera)
            if self.mostrar:
                from IPython.display import display, update_display

                display(self._rotulo(), raw=True, display_id=self._id_pantalla)
                update_display(self._mime(self.html, primera), raw=True, display_id=self._id_pantalla)
                self._mostrado = True
        except BaseException:  # sin hilo todavía: deshacer lo abierto y avisar
            self.pool.observadores.remove(self._observador)
            self.registro.detener()
            if self._conexion is not None:
                self._conexion.close()
            raise
        # El hilo hereda el contexto de la celda: sus dibujos van a la salida de esta celda.
        contexto = contextvars.copy_context()
        self._hilo = threading.Thread(target=contexto.run, args=(self._bucle,), name="tablero-pool", daemon=True)
        self._hilo.start()
        return self

    def detener(self) -> None:
        """Para el hilo, cierra su conexión y deja a la vista el estado final."""
        if self._hilo is None or self._terminado:
            return
        self._terminado = True
        self._parar.set()
        self._hilo.join()
        assert self.pool is not None
        if self._observador in self.pool.observadores:
            self.pool.observadores.remove(self._observador)
        self.registro.detener()
        try:
            final = self._foto_final()
        except Exception:  # noqa: BLE001 - sin servidor, al menos el estado del pool
            final = self.foto(consultar_servidor=False)
        finally:
            if self._conexion is not None:
                self._conexion.close()
                self._conexion = None
        self.final = final
        self.html = self._dibujar(final, final=True)
        if self._mostrado:
            from IPython.display import display, update_display

            update_display(self._rotulo(), raw=True, display_id=self._id_pantalla)
            display(self._mime(self.html, final, final=True), raw=True)

    @property
    def activo(self) -> bool:
        return self._hilo is not None and not self._terminado

    @property
    def hilo_vivo(self) -> bool:
        """``True`` mientras el hilo que redibuja sigue en marcha."""
        return self._hilo is not None and self._hilo.is_alive()

    @property
    def conexion_abierta(self) -> bool:
        """``True`` mientras el tablero tiene abierta su conexión propia con el servidor."""
        return self._conexion is not None and not self._conexion.closed

    def __enter__(self) -> Tablero:
        return self.iniciar()

    def __exit__(
        self, tipo: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.detener()

    def _repr_html_(self) -> str:
        return self.html

    # --- Los avisos del pool (en el hilo que pide o devuelve) ----------------------------------------------------

    def _al_prestar(self, conexion: Any, t: float) -> tuple[float, int, tuple[str, int, str], int, str | None]:
        """En cada préstamo, en el hilo que lo pide: quién lo pidió (la pila solo se puede leer ahora).

        Lo llama el observador del registrador de dentro, que lo guarda en la fila
        del préstamo: ``(t, id(conexión), origen, hilo, nombre del hilo)``. Todo
        lo demás lo hace el hilo del tablero.
        """
        ident = id(conexion)
        if ident not in self._conocidas:  # la primera vez (el hilo del tablero vigila los id reusados)
            self._conocer(conexion, t)  # antes de la fila: que el hilo del tablero la cuente
        hilo = _get_ident()
        nombre = None if hilo == self._principal else nombre_de_hilo(threading.current_thread().name)
        # Quién llamó a getconn(): origen_del_prestamo() con un atajo, escrito aquí mismo (el camino caliente).
        # Pila: este marco (0), el observador (1), el aviso del pool (2), getconn() (3) y quien lo llamó (4). Si es
        # el generador de pool.connection(), al alumno le importa quien hizo el with, dos marcos más allá (entre
        # medias, el __enter__ de contextlib): se salta sin materializar el marco intermedio.
        marco = _getframe(4)
        codigo = marco.f_code
        clase = _CLASES.get(codigo.co_filename)
        if clase is None:
            clase = _clasificar(codigo.co_filename)
        if clase == _DE_PASO and codigo.co_name == "connection":  # with pool.connection(): el with, dos más allá
            try:
                marco = _getframe(6)
            except ValueError:
                pass
            codigo = marco.f_code
            clase = _CLASES.get(codigo.co_filename)
        if clase == _USUARIO:
            return t, ident, (codigo.co_filename, marco.f_lineno, codigo.co_name), hilo, nombre
        return t, ident, origen_del_prestamo(marco), hilo, nombre

    def _al_encolar(self, t: float) -> None:
        """Una petición entra en la cola: su plazo. Llega con el cerrojo del pool tomado: solo se lee."""
        self._hilos.add(_get_ident())
        cola = self.pool._waiting  # type: ignore[union-attr]
        plazos = getattr(cola, "plazos", None)
        if plazos and len(cola):
            entrada, plazo = plazos.get(id(cola[-1]), (time.monotonic(), 0.0))
            self._encoladas.append((t, t + entrada + plazo - time.monotonic(), plazo))

    def prestamos(self) -> list[tuple[float, int, tuple[str, int, str], int, str | None]]:
        """Cada préstamo visto: ``(t, id(conexión), origen, hilo, nombre del hilo)`` (``None``: el principal)."""
        return sorted(filter(None, map(_EXTRA, self.registro._filas[:])), key=itemgetter(0))

    def _conocer(self, conexion: Any, t: float) -> _Conocida:
        """La primera vez que el tablero ve una conexión: le da número y anota su PID."""
        with self._cerrojo:
            anterior = self._conocidas.get(id(conexion))
            if anterior is not None and anterior.ref() is conexion:
                return anterior
            try:
                pid = conexion.pgconn.backend_pid or None
            except Exception:
                pid = None
            info = _Conocida(len(self._conocidas) + 1, weakref.ref(conexion), pid, t)
            self._conocidas[id(conexion)] = info
            return info

    # --- El hilo del tablero ---------------------------------------------------------------------------------------

    def _bucle(self) -> None:
        while not self._parar.wait(self.refresco):
            try:
                self._refrescar()
            except Exception as exc:  # noqa: BLE001 - un fallo al dibujar no debe escribir en stderr
                self._error = f"{type(exc).__name__}: {exc}"

    def _refrescar(self) -> None:
        self.registro.mirar()  # lo que haría el hilo del registrador: el tablero no le arranca uno
        foto = self.foto()
        self.html = self._dibujar(foto)
        self.refrescos += 1
        if self._mostrado and not self._parar.is_set():
            from IPython.display import update_display

            update_display(self._mime(self.html, foto), raw=True, display_id=self._id_pantalla)

    def _abrir_conexion(self) -> psycopg.Connection | None:
        try:
            return abrir_conexion_directa()
        except Exception as exc:  # noqa: BLE001 - sin servidor, el tablero sigue mostrando el pool
            self._error = f"sin conexión con el servidor ({type(exc).__name__})"
            return None

    def _consultar_sesiones(self) -> dict[str, int] | None:
        if self._conexion is None or self._conexion.closed:
            if self._terminado:
                return None
            self._conexion = self._abrir_conexion()  # p. ej. tras un reinicio del servidor
            if self._conexion is None:
                return None
        try:
            filas = self._conexion.execute(SESIONES_POR_ESTADO, (self.aplicacion,)).fetchall()
        except psycopg.Error as exc:
            self._error = f"el servidor no respondió ({type(exc).__name__})"
            with contextlib.suppress(Exception):
                self._conexion.close()
            return None
        self._error = None
        return {estado: cuantas for estado, cuantas in filas}

    def foto(self, consultar_servidor: bool = True) -> Foto:
        """El estado del pool ahora mismo (lo que dibujaría el tablero)."""
        with self._cerrojo_foto:
            return self._foto(consultar_servidor)

    def _foto(self, consultar_servidor: bool) -> Foto:
        pool = self.pool
        assert pool is not None
        t = time.perf_counter() - self._t0
        with pool._lock:
            libres_ahora = list(pool._pool)
            tamano = pool._nconns
        libres = {id(c): c for c in libres_ahora}
        for conexion in libres_ahora:
            info = self._conocidas.get(id(conexion))
            if info is None or info.ref() is not conexion:
                self._conocer(conexion, t)
        esperas = tuple(pool.esperas())
        sesiones = self._consultar_sesiones() if consultar_servidor else None
        if consultar_servidor:
            self._sesiones_historia.append((t, sesiones))
            self.registro.anotar_sesiones(None if sesiones is None else sum(sesiones.values()))
        self._leer_registro(t)

        baldosas: list[Baldosa] = []
        prestadas_conocidas = 0
        with self._cerrojo:  # los avisos del pool pueden estar añadiendo conexiones
            conocidas = sorted(self._conocidas.items(), key=lambda par: par[1].numero)
        for ident, info in conocidas:
            conexion = info.ref()
            prestada = info.prestada
            if conexion is not None and libres.get(ident) is conexion:
                desde = t - (info.devuelta if info.devuelta is not None else info.vista)
                baldosas.append(Baldosa(info.numero, "libre", info.pid, desde, None, info.prestamos))
            elif conexion is not None and not conexion.closed:
                # Abierta y fuera de la lista de libres: alguien la tiene.
                prestadas_conocidas += 1
                if prestada is None:  # el pool se la acaba de dar a alguien; su aviso aún no llegó
                    baldosas.append(Baldosa(info.numero, "prestada", info.pid, None, None, info.prestamos))
                else:
                    baldosas.append(Baldosa(info.numero, "prestada", info.pid, t - prestada[0],
                                            describir_prestamo(prestada[1], prestada[2]), info.prestamos))
            elif prestada is not None and (info.devuelta is None or info.devuelta < prestada[0]):
                prestadas_conocidas += 1  # su sesión se cortó, pero quien la tiene aún no la ha devuelto
                baldosas.append(Baldosa(info.numero, "cerrada", info.pid, t - prestada[0],
                                        describir_prestamo(prestada[1], prestada[2]), info.prestamos))
            elif info.ida is None:
                info.ida = t  # cerrada y devuelta (o descartada por el pool): ya no está
        anonimas = max(0, tamano - len(libres) - prestadas_conocidas)
        baldosas += [Baldosa(0, "prestada antes") for _ in range(anonimas)]
        abiertas = sum(1 for b in baldosas if b.estado != "cerrada")
        baldosas += [Baldosa(0, "sin abrir") for _ in range(max(0, pool.max_size - max(abiertas, tamano)))]
        plazos = self._plazos_de_la_cola(len(esperas))
        return Foto(t, tamano, pool.max_size, len(libres), len(esperas), tuple(baldosas), esperas, plazos,
                    sesiones, pool.closed)

    def _plazos_de_la_cola(self, cuantas: int) -> tuple[float | None, ...]:
        """El plazo de cada petición en cola: la cola es FIFO, son las ``cuantas`` últimas que entraron."""
        ultimas = self._encoladas[-cuantas:] if cuantas else []
        if len(ultimas) < cuantas:
            return (None,) * cuantas
        return tuple(plazo for _, _, plazo in ultimas)

    def _leer_registro(self, t: float) -> None:
        """Pone al día lo que el tablero sabe con lo anotado desde el dibujo anterior.

        Préstamos por conexión, el último préstamo y la última devolución de
        cada una, los ``PoolTimeout`` y un punto más de la gráfica pequeña. Las
        filas se cuentan sin recorrerlas una a una en Python (``map`` y
        ``Counter``) y, para «el último de cada conexión», desde el final hasta
        encontrarlos todos.
        """
        filas = self.registro._filas
        nuevas = filas[self._filas_leidas:]
        self._filas_leidas += len(nuevas)
        conocidas = self._conocidas
        nuevos = list(filter(None, map(_EXTRA, nuevas)))  # los préstamos: (t, id, origen, hilo, nombre)
        if nuevos:
            for ident, veces in Counter(map(_IDENT, nuevos)).items():
                info = conocidas.get(ident)
                if info is not None:
                    info.prestamos += veces
            self._hilos.update(map(_HILO, nuevos))
            faltan = set(conocidas)
            for prestamo in reversed(nuevos):  # el último préstamo de cada conexión
                info = conocidas.get(prestamo[1])
                if prestamo[1] in faltan and info is not None:
                    faltan.discard(prestamo[1])
                    info.prestada = (prestamo[0], prestamo[2], prestamo[4])
                    if not faltan:
                        break
        if nuevas:
            en_uso, en_cola = max(map(_EN_USO, nuevas)), max(map(_EN_COLA, nuevas))
            self._ultimo = (nuevas[-1][3], nuevas[-1][4])
            sucesos = list(map(_SUCESO, nuevas))
            self._timeouts += sucesos.count("timeout")
            if "devuelta" in sucesos:
                faltan = set(conocidas)
                for fila in reversed(nuevas):  # la última devolución de cada conexión
                    if fila[6] == "devuelta" and fila[7] in faltan:
                        faltan.discard(fila[7])
                        conocidas[fila[7]].devuelta = fila[0]
                        if not faltan:
                            break
        else:
            en_uso, en_cola = self._ultimo
        self._puntos.append((t, en_uso, en_cola))
        self._maximos = [max(self._maximos[0], en_uso), max(self._maximos[1], en_cola)]

    def _foto_final(self) -> Foto:
        """La última foto, con el servidor ya al día (espera hasta 1 s a que cuente las sesiones del pool)."""
        assert self.pool is not None
        pool = self.pool

        def al_dia() -> bool:
            sesiones = self._consultar_sesiones()
            return sesiones is not None and sum(sesiones.values()) == pool._nconns

        if self._conexion is not None:
            esperar_hasta(al_dia, 1.0, pausa=0.02)
        return self.foto()

    # --- Dibujar en HTML --------------------------------------------------------------------------------------------

    def _rotulo(self) -> dict[str, str]:
        """La primera línea de la salida, la misma al empezar y al terminar (la compara nbval)."""
        titulo = html.escape(self.titulo or "Tablero del pool")
        texto = (f"{titulo}, en directo: se redibuja cada {segundos(self.refresco)} s mientras corre la celda; "
                 "al terminar, su estado final queda al final de la salida.")
        return {
            "text/html": f'<div class="tp-rotulo" style="{_LETRA};font-size:13px;color:{_GRIS}">{texto}</div>',
            "text/plain": f"{self.titulo or 'Tablero del pool'} (en directo)",
        }

    def _mime(self, texto_html: str, foto: Foto, final: bool = False) -> dict[str, str]:
        cabeza = self.titulo or "Tablero del pool"
        estado = "estado final" if final else "en directo"
        plano = (f"{cabeza}, {estado}: abiertas {foto.tamano} de {foto.maximo} · en uso {foto.en_uso} · "
                 f"libres {foto.libres} · en cola {foto.esperando}")
        if foto.caducadas:
            plano += f" ({foto.caducadas} {'caducada' if foto.caducadas == 1 else 'caducadas'})"
        return {"text/html": texto_html, "text/plain": plano}

    def _dibujar(self, foto: Foto, final: bool = False) -> str:
        concurrente = len(self._hilos) > 1
        v = _variable
        # Cabecera
        if final:
            marca = (f'<span style="background:{_GRIS_FONDO};color:{_GRIS};border-radius:10px;padding:1px 9px">'
                     f'terminado · duró {v(segundos(foto.t, ".1f") + " s")}</span>')
        else:
            marca = (f'<span style="background:{_ROJO};color:#fff;border-radius:10px;padding:1px 9px">'
                     f'● en directo · t = {v(segundos(foto.t, ".1f") + " s")}</span>')
        cifras = (f'abiertas <b>{foto.tamano}</b> de {foto.maximo} · en uso <b>{foto.en_uso}</b> · '
                  f'libres <b>{foto.libres}</b> · en cola <b>{foto.esperando}</b>')
        if foto.cerrado:
            cifras += f' · <b style="color:{_ROJO}">pool cerrado</b>'
        partes = [
            f'<div class="tp-tablero" style="{_LETRA};font-size:15px;line-height:1.35;color:#1b1b1b;'
            'max-width:1100px;border:1px solid #c5cad3;border-radius:8px;padding:10px 14px;background:#fff">',
            '<div style="display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 14px;margin-bottom:8px">'
            f'<b style="font-size:17px">{html.escape(self.titulo or "Tablero del pool")}</b>{marca}'
            f'<span>{cifras}</span></div>',
            '<div style="display:flex;flex-wrap:wrap;gap:8px;margin-bottom:10px">',
            *(_baldosa_html(b, final, concurrente) for b in foto.baldosas),
            "</div>",
            '<div style="display:flex;flex-wrap:wrap;gap:10px 24px;margin-bottom:8px">',
            f'<div style="flex:1 1 420px">{_cola_html(foto, final)}</div>',
            f'<div style="flex:1 1 320px">{self._servidor_html(foto)}</div>',
            "</div>",
            self._grafica_html(foto, final, concurrente),
            "</div>",
        ]
        return "".join(partes)

    def _servidor_html(self, foto: Foto) -> str:
        cabeza = '<b>Servidor</b> <span style="color:#555">(pg_stat_activity)</span>: '
        if foto.sesiones is None:
            motivo = html.escape(self._error or "sin consultar")
            return cabeza + f'<span style="color:{_ROJO}">{motivo}</span>'
        total = sum(foto.sesiones.values())
        texto = cabeza + f"{total} {'sesión' if total == 1 else 'sesiones'} de este kernel"
        if not total:
            return texto
        filas = "".join(
            f'<div><code style="background:#f3f3f3;padding:0 4px">{html.escape(estado)}</code> '
            f'<b>{cuantas}</b> <span style="color:#555">{ESTADOS_SERVIDOR.get(estado, "")}</span></div>'
            for estado, cuantas in sorted(foto.sesiones.items())
        )
        return texto + f'<div style="margin-top:2px">{filas}</div>'

    def _serie(self, foto: Foto, final: bool) -> tuple[list[int], list[int]]:
        """En uso y en cola para la gráfica pequeña: en directo, un punto por dibujo; al final, todo el registro."""
        if not final:
            ultimos = self._puntos[-max(2, int(VENTANA / self.refresco)):]
            return [p[1] for p in ultimos], [p[2] for p in ultimos]
        duracion = max(foto.t, 1e-9)
        uso = [-1] * PUNTOS_FINALES  # -1: trozo sin filas
        cola = [-1] * PUNTOS_FINALES
        ultimo_de: dict[int, tuple[int, int]] = {}  # el estado al final de cada trozo
        for fila in self.registro.filas():
            i = min(PUNTOS_FINALES - 1, int(fila[0] / duracion * PUNTOS_FINALES))
            uso[i] = max(uso[i], fila[3])
            cola[i] = max(cola[i], fila[4])
            ultimo_de[i] = (fila[3], fila[4])
        anterior = (0, 0)
        for i in range(PUNTOS_FINALES):
            if uso[i] < 0:  # nada cambió en este trozo: sigue el estado anterior
                uso[i], cola[i] = anterior
            anterior = ultimo_de.get(i, anterior)
        return uso, cola

    def _grafica_html(self, foto: Foto, final: bool, concurrente: bool) -> str:
        ancho, alto, margen = 560, 92, 4
        uso, cola = self._serie(foto, final)
        tope = max(foto.maximo, max(cola, default=0), 1)
        n = max(len(uso) - 1, 1)

        def puntos(valores: list[int]) -> str:
            """Escalones: cada valor se mantiene hasta el siguiente punto."""
            pares = []
            for i, valor in enumerate(valores):
                y = f"{alto - margen - valor * (alto - 2 * margen) / tope:.1f}"
                pares.append(f"{margen + i * (ancho - 2 * margen) / n:.1f},{y}")
                pares.append(f"{margen + min(i + 1, n) * (ancho - 2 * margen) / n:.1f},{y}")
            return " ".join(pares)

        limite = f"{margen},{alto - margen - foto.maximo * (alto - 2 * margen) / tope:.1f} {ancho - margen}," \
                 f"{alto - margen - foto.maximo * (alto - 2 * margen) / tope:.1f}"
        svg = (
            f'<svg width="{ancho}" height="{alto}" viewBox="0 0 {ancho} {alto}" role="img" '
            'aria-label="Conexiones en uso y peticiones en cola a lo largo del tiempo" '
            'style="display:block;background:#fafafa;border:1px solid #e0e0e0;border-radius:4px">'
            f'<polyline class="tp-limite" points="{limite}" fill="none" stroke="#ef6c00" stroke-width="1.5" '
            'stroke-dasharray="5,4"/>'
            f'<polyline class="tp-cola" points="{puntos(cola)}" fill="none" stroke="{_MORADO}" stroke-width="2"/>'
            f'<polyline class="tp-uso" points="{puntos(uso)}" fill="none" stroke="{_ROJO}" stroke-width="2.5"/>'
            "</svg>"
        )
        tramo = ("todo el experimento" if final or foto.t <= VENTANA
                 else f"los últimos {segundos(VENTANA, '.0f')} s")
        maximos = (f'máximo en uso <b>{self._maximos[0]}</b> · máximo en cola '
                   f'<b>{_variable(str(self._maximos[1])) if concurrente else self._maximos[1]}</b>')
        prestamos = sum(info.prestamos for info in self._conocidas.values())
        resumen = (f"{prestamos} {'préstamo' if prestamos == 1 else 'préstamos'} · "
                   f"{self._timeouts} PoolTimeout · {maximos}")
        leyenda = (f'<span style="color:{_ROJO};font-weight:600">━ en uso</span> · '
                   f'<span style="color:{_MORADO};font-weight:600">━ en cola</span> · '
                   f'<span style="color:#ef6c00;font-weight:600">┅ max_size = {foto.maximo}</span> · {tramo}')
        return (f'<div style="display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center">{svg}'
                f'<div style="font-size:14px"><div>{leyenda}</div><div style="margin-top:4px">'
                f'{resumen}</div></div></div>')

    # --- La repetición ----------------------------------------------------------------------------------------------

    def repeticion(self, fotogramas: int = 30, fps: float = 5.0, colores: int = 32) -> Any:
        """La película del experimento: el tablero animado con lo registrado (``IPython.display.HTML``).

        Es una animación de matplotlib (``FuncAnimation(...).to_jshtml()``):
        ``fotogramas`` imágenes a partes iguales del experimento, ``fps`` por
        segundo. Los fotogramas se guardan como PNG con ``colores`` colores para
        que el cuaderno no pese (unos 200-400 KB). Los botones no cargan nada
        de fuera. Con los fotogramas enmascarados (``tests/sanitize.cfg``), el
        HTML es el mismo en cada ejecución.
        """
        if not self._terminado:
            raise RuntimeError("La repetición se prepara al terminar: sal antes del bloque with del tablero.")
        if not 2 <= fotogramas <= 120:
            raise ValueError(f"fotogramas debe estar entre 2 y 120; llegó {fotogramas}.")
        from IPython.display import HTML

        return HTML(self.repeticion_html(fotogramas, fps, colores))

    def repeticion_html(self, fotogramas: int = 30, fps: float = 5.0, colores: int = 32) -> str:
        """El HTML de :meth:`repeticion` (para guardarlo o incrustarlo en otra página)."""
        from matplotlib.animation import FuncAnimation

        pelicula = _Pelicula(self)
        duracion = self.registro.duracion
        instantes = [duracion * i / (fotogramas - 1) for i in range(fotogramas)]
        animacion = FuncAnimation(pelicula.figura, pelicula.dibujar, frames=instantes, init_func=pelicula.vacio,
                                  interval=1000 / fps, repeat=False)
        crudo = animacion.to_jshtml(fps=fps, default_mode="once")
        numero = next(_REPETICIONES)
        texto = _repeticion_autonoma(crudo, f"tablero{numero}", colores)
        titulo = html.escape(self.titulo or "Tablero del pool")
        return (f'<div class="tp-repeticion" style="{_LETRA}">'
                f'<div style="font-size:14px;color:#333;margin-bottom:4px"><b>{titulo}: repetición</b> · '
                f'{fotogramas} fotogramas a partes iguales del experimento (pulsa ▶)</div>{texto}</div>')


_EN_USO, _EN_COLA, _SUCESO = itemgetter(3), itemgetter(4), itemgetter(6)  # en las filas del registrador
_EXTRA = itemgetter(8)  # en las filas del registrador: lo que anota el tablero en cada préstamo
_IDENT, _HILO = itemgetter(1), itemgetter(3)  # en cada préstamo


def _variable(texto: str) -> str:
    """Una cifra que cambia de una ejecución a otra: las pruebas de los cuadernos la enmascaran."""
    return f'<span class="tp-v">{html.escape(texto)}</span>'


def _baldosa_html(b: Baldosa, final: bool, concurrente: bool) -> str:
    v = _variable
    if b.estado == "sin abrir":
        return (f'<div style="width:172px;min-height:84px;box-sizing:border-box;border:2px dashed #bdbdbd;'
                f'border-radius:6px;padding:5px 8px;color:#8a8a8a;background:#fafafa">'
                f'<b>plaza vacía</b><div style="font-size:13px">sin abrir: el pool puede abrir otra</div></div>')
    if b.estado == "libre":
        borde, fondo, color = _VERDE, _VERDE_FONDO, _VERDE
    elif b.estado == "cerrada":
        borde, fondo, color = _GRIS, _GRIS_FONDO, _ROJO
    else:
        borde, fondo, color = _ROJO, _ROJO_FONDO, _ROJO
    cabeza = "conexión" if b.numero == 0 else f"conexión {b.numero}"
    pid = f'<span style="color:#555;font-size:12px;white-space:nowrap">PID {b.pid}</span>' if b.pid else ""
    hace = (f' <span style="font-weight:400;font-size:13px;color:#333">hace {v(segundos(b.desde, ".1f") + " s")}</span>'
            if b.desde is not None else "")
    if b.estado == "libre":
        veces = str(b.prestamos)
        veces = v(veces) if concurrente else veces
        linea = f"libre{hace}"
        detalle = f"{veces} {'préstamo' if b.prestamos == 1 else 'préstamos'} mientras miraba el tablero"
    elif b.estado == "prestada antes":
        linea = "prestada"
        detalle = "desde antes de abrir el tablero"
    elif b.estado == "cerrada":
        linea = f"sesión cerrada{hace}"
        detalle = f"sin devolver; la pidió {html.escape(b.origen or '')}"
    else:
        linea = f"prestada{hace}"
        detalle = f"pedida en {html.escape(b.origen or 'un lugar desconocido')}"
    return (f'<div style="width:172px;min-height:84px;box-sizing:border-box;border:2px solid {borde};'
            f'border-radius:6px;padding:5px 8px;background:{fondo}">'
            f'<div style="display:flex;justify-content:space-between;align-items:baseline;gap:4px">'
            f'<b style="white-space:nowrap">{cabeza}</b>{pid}</div>'
            f'<div style="font-weight:600;color:{color}">{linea}</div>'
            f'<div style="font-size:13px;color:#333">{detalle}</div></div>')


def _cola_html(foto: Foto, final: bool) -> str:
    v = _variable
    cabeza = f"<b>Cola de espera</b> ({foto.esperando}): "
    if not foto.esperas:
        return cabeza + '<span style="color:#555">nadie espera</span>'
    fichas = []
    for posicion, (queda, plazo) in enumerate(zip(foto.esperas, foto.plazos), start=1):
        if queda < 0:
            fichas.append(
                f'<div style="border:2px dashed {_GRIS};background:{_GRIS_FONDO};border-radius:6px;padding:3px 8px">'
                f'<b>#{posicion}</b> caducada, aún en la cola '
                f'<span style="font-size:13px;color:#555">(PoolTimeout hace {v(segundos(-queda, ".1f") + " s")})'
                "</span></div>")
            continue
        barra = ""
        if plazo and not final:
            parte = max(0.0, min(1.0, queda / plazo))
            barra = (f'<div style="height:6px;background:#ffe0b2;border-radius:3px;margin-top:3px">'
                     f'<div style="width:{parte * 100:.0f}%;height:6px;background:{_AMBAR};border-radius:3px">'
                     "</div></div>")
        fichas.append(
            f'<div style="border:2px solid {_AMBAR};background:{_AMBAR_FONDO};border-radius:6px;padding:3px 8px;'
            f'min-width:170px"><b>#{posicion}</b> espera · PoolTimeout en {v(segundos(queda, ".1f") + " s")}'
            f"{barra}</div>")
    return cabeza + f'<div style="display:flex;flex-wrap:wrap;gap:6px;margin-top:3px">{"".join(fichas)}</div>'


# --- La repetición: el tablero dibujado con matplotlib -------------------------------------------------------------


class _Pelicula:
    """Reconstruye el tablero en cualquier instante con lo registrado y lo dibuja en una figura de matplotlib."""

    def __init__(self, tablero: Tablero) -> None:
        from matplotlib.figure import Figure

        self.tablero = tablero
        filas = tablero.registro.filas()
        self.t = [f[0] for f in filas]
        self.en_uso = [f[3] for f in filas]
        self.esperando = [f[4] for f in filas]
        self.maximo = tablero.final.maximo if tablero.final else (tablero.pool.max_size if tablero.pool else 1)
        self.duracion = tablero.registro.duracion
        numero_de = {ident: info.numero for ident, info in tablero._conocidas.items()}
        obtenidas = [(t, "obtenida", numero_de[ident], origen, nombre)
                     for t, ident, origen, _hilo, nombre in tablero.prestamos() if ident in numero_de]
        devueltas = [(f[0], "devuelta", numero_de[f[7]])
                     for f in tablero.registro._filas if f[6] == "devuelta" and f[7] in numero_de]
        self.historia = sorted(obtenidas + devueltas, key=lambda h: h[0])
        self.encoladas = list(tablero._encoladas)
        self.sesiones = [(t, s) for t, s in tablero._sesiones_historia]
        self.t_sesiones = [t for t, _ in self.sesiones]
        conocidas = sorted(tablero._conocidas.values(), key=lambda c: c.numero)
        self.conexiones = [(c.numero, c.vista, c.ida, c.pid) for c in conocidas]
        self.plazas = max(self.maximo, len(self.conexiones))
        tope = max([self.maximo, *self.esperando, 1])

        self.figura = Figure(figsize=(9.0, 4.3), dpi=72)
        fig = self.figura
        fig.patch.set_facecolor("white")
        ax = fig.add_axes((0, 0.34, 1, 0.66))
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 60)
        ax.axis("off")
        self.ax = ax
        self.titulo = ax.text(1.5, 56, f"{tablero.titulo} · repetición", fontsize=13, fontweight="bold", va="center")
        self.reloj = ax.text(98.5, 56, "", fontsize=12, ha="right", va="center", color="#333")
        self.cifras = ax.text(1.5, 49.5, "", fontsize=11, va="center")
        from matplotlib.patches import FancyBboxPatch

        hueco = 97.0 / self.plazas
        ancho = min(19.0, hueco - 1.2)
        self.baldosas = []
        for i in range(self.plazas):
            x = 1.5 + i * hueco
            caja = FancyBboxPatch((x, 23), ancho, 22, boxstyle="round,pad=0,rounding_size=1.2", linewidth=2)
            ax.add_patch(caja)
            cabeza = ax.text(x + 1, 41.5, "", fontsize=10, fontweight="bold", va="center")
            pid = ax.text(x + 1, 37, "", fontsize=8, va="center", color="#555")
            estado = ax.text(x + 1, 32, "", fontsize=10, fontweight="bold", va="center")
            detalle = ax.text(x + 1, 27, "", fontsize=7.5, va="center", color="#333")
            self.baldosas.append((caja, cabeza, pid, estado, detalle))
        self.cola = ax.text(1.5, 15, "", fontsize=11, va="center")
        self.servidor = ax.text(1.5, 6, "", fontsize=11, va="center")
        self.ancho_baldosa = ancho

        graf = fig.add_axes((0.07, 0.09, 0.9, 0.24))
        graf.set_xlim(0, max(self.duracion, 1e-3))
        graf.set_ylim(-0.3, tope + 0.6)
        graf.axhline(self.maximo, color="#ef6c00", linestyle="--", linewidth=1.2)
        graf.set_xlabel("tiempo (s)", fontsize=9, labelpad=1)
        graf.tick_params(labelsize=8)
        graf.grid(True, alpha=0.3)
        (self.linea_uso,) = graf.step([], [], where="post", color=_ROJO, linewidth=2.2, label="en uso")
        (self.linea_cola,) = graf.step([], [], where="post", color=_MORADO, linewidth=1.8, label="en cola")
        self.cursor = graf.axvline(0, color="#333", linewidth=1)
        graf.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)

    def vacio(self) -> list[Any]:
        return []

    def _hasta(self, t: float) -> int:
        return bisect_right(self.t, t)

    def dibujar(self, t: float) -> list[Any]:
        n = self._hasta(t)
        esperando = self.esperando[n - 1] if n else 0
        en_uso = self.en_uso[n - 1] if n else 0
        self.reloj.set_text(f"t = {segundos(t, '.2f')} s de {segundos(self.duracion, '.2f')} s")
        self.cifras.set_text(f"en uso {en_uso} de {self.maximo} · en cola {esperando}")
        # Baldosas: quién tiene cada conexión en el instante t.
        prestadas: dict[int, int] = {}
        origenes: dict[int, str] = {}
        for suceso in self.historia:
            if suceso[0] > t:
                break
            numero = suceso[2]
            if suceso[1] == "obtenida":
                prestadas[numero] = prestadas.get(numero, 0) + 1
                origenes[numero] = describir_prestamo(suceso[3], suceso[4])
            else:
                prestadas[numero] = max(0, prestadas.get(numero, 0) - 1)
        presentes = [c for c in self.conexiones if c[1] <= t and (c[2] is None or c[2] > t)]
        for i, (caja, cabeza, pid_texto, estado, detalle) in enumerate(self.baldosas):
            if i < len(presentes):
                numero, _vista, _ida, pid = presentes[i]
                if prestadas.get(numero, 0) > 0:
                    caja.set(facecolor=_ROJO_FONDO, edgecolor=_ROJO, linestyle="-")
                    estado.set(text="prestada", color=_ROJO)
                    detalle.set_text(_recortar(origenes.get(numero, ""), self.ancho_baldosa))
                else:
                    caja.set(facecolor=_VERDE_FONDO, edgecolor=_VERDE, linestyle="-")
                    estado.set(text="libre", color=_VERDE)
                    detalle.set_text("")
                cabeza.set(text=f"conexión {numero}", color="#1b1b1b")
                pid_texto.set_text(f"PID {pid}" if pid else "")
            else:
                caja.set(facecolor="#fafafa", edgecolor="#bdbdbd", linestyle="--")
                cabeza.set(text="plaza vacía", color="#8a8a8a")
                pid_texto.set_text("")
                estado.set(text="sin abrir", color="#8a8a8a")
                detalle.set_text("")
        # Cola: FIFO; quedan las `esperando` últimas que entraron antes de t.
        entradas = [e for e in self.encoladas if e[0] <= t]
        cola = entradas[-esperando:] if esperando else []
        if not cola:
            self.cola.set_text("Cola de espera: nadie espera")
        else:
            fichas = []
            for posicion, (_entrada, limite, _plazo) in enumerate(cola[:3], start=1):
                queda = limite - t
                if queda < 0:
                    fichas.append(f"#{posicion} caducada, aún en la cola")
                else:
                    fichas.append(f"#{posicion} {'PoolTimeout ' if posicion == 1 else ''}en {segundos(queda, '.1f')} s")
            if len(cola) > 3:
                fichas.append(f"y {len(cola) - 3} más")
            self.cola.set_text(f"Cola de espera ({len(cola)}): " + " · ".join(fichas))
        # Servidor: la última consulta antes de t.
        k = bisect_right(self.t_sesiones, t)
        sesiones = self.sesiones[k - 1][1] if k else None
        if sesiones is None:
            self.servidor.set_text("Servidor (pg_stat_activity): sin datos")
        else:
            detalle_sesiones = " · ".join(f"{estado} {cuantas}" for estado, cuantas in sorted(sesiones.items()))
            total = sum(sesiones.values())
            self.servidor.set_text(f"Servidor (pg_stat_activity): {total} "
                                   f"{'sesión' if total == 1 else 'sesiones'}"
                                   + (f": {detalle_sesiones}" if total else ""))
        self.linea_uso.set_data(self.t[:n] + [t], self.en_uso[:n] + [en_uso])
        self.linea_cola.set_data(self.t[:n] + [t], self.esperando[:n] + [esperando])
        self.cursor.set_xdata([t, t])
        return []


def _recortar(texto: str, ancho: float) -> str:
    maximo = max(8, int(ancho * 1.6))
    return texto if len(texto) <= maximo else texto[: maximo - 1] + "…"


_BOTONES = {
    "Decrease speed": ("Más lento", "−"),
    "First frame": ("Primer fotograma", "«"),
    "Previous frame": ("Fotograma anterior", "‹"),
    "Play backwards": ("Hacia atrás", "◀"),
    "Pause": ("Pausa", "❚❚"),
    "Play": ("Reproducir", "▶"),
    "Next frame": ("Fotograma siguiente", "›"),
    "Last frame": ("Último fotograma", "»"),
    "Increase speed": ("Más rápido", "+"),
}


def _repeticion_autonoma(crudo: str, identificador: str, colores: int) -> str:
    """El HTML de ``to_jshtml`` sin nada de fuera, con un identificador fijo y fotogramas más ligeros.

    * Quita la hoja de estilos de Font Awesome (se cargaba de una CDN) y pone en
      los botones símbolos de texto y títulos en español.
    * Cambia el identificador aleatorio (``uuid4``) por ``identificador``: así el
      HTML es igual en cada ejecución, salvo los fotogramas.
    * Reduce cada PNG a ``colores`` colores (Pillow), unas 3 veces más ligero.
    """
    texto = re.sub(r'<link rel="stylesheet"\s+href="https://maxcdn[^>]*>\s*', "", crudo)
    aleatorio = re.search(r"_anim_img([0-9a-f]{32})", texto)
    if aleatorio:
        texto = texto.replace(aleatorio.group(1), identificador)
    for ingles, (espanol, simbolo) in _BOTONES.items():
        texto = re.sub(
            rf'title="{ingles}" aria-label="{ingles}"(\s*onclick="[^"]*">)\s*<i class="[^"]*"></i>',
            lambda m, e=espanol, s=simbolo: f'title="{e}" aria-label="{e}"{m.group(1)}{s}',
            texto,
        )
    for ingles, espanol in (("Once", "Una vez"), ("Loop", "En bucle"), ("Reflect", "Ida y vuelta"),
                            ("Repetition mode", "Modo de repetición")):
        texto = texto.replace(f">{ingles}</label>", f">{espanol}</label>").replace(f'"{ingles}"', f'"{espanol}"')
    return re.sub(r'(frames\[\d+\] = "data:image/png;base64,)([^"]*)"',
                  lambda m: m.group(1) + _png_ligero(m.group(2), colores) + '"', texto)


def _png_ligero(datos: str, colores: int) -> str:
    """Un PNG en base64 reducido a ``colores`` colores (si Pillow no está, se deja como estaba)."""
    try:
        from PIL import Image
    except ImportError:
        return datos
    crudo = base64.b64decode(datos.replace("\\\n", "").replace("\n", ""))
    imagen = Image.open(io.BytesIO(crudo)).convert("RGB")
    reducida = imagen.quantize(colors=colores, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    salida = io.BytesIO()
    reducida.save(salida, format="PNG")
    return base64.b64encode(salida.getvalue()).decode("ascii")
