"""Registrar la ocupación del pool a lo largo del tiempo.

El :class:`RegistradorOcupacion` anota el estado del pool (tamaño, disponibles,
en uso = tamaño - disponibles, peticiones esperando: las cifras de
``get_stats()``) cada vez que cambia, y se entera de tres maneras:

* **Los avisos del pool.** En cada suceso (``obtenida``, ``devuelta``,
  ``timeout``, ``cerrado`` y ``en_cola``, que avisa
  :class:`~capa_datos_persona._pool_observable.PoolObservable`) anota una fila
  en el hilo que lo provoca, sin esperar a nadie: un par de microsegundos.
* **Un hilo que mira lo que el pool no avisa**: las conexiones que abren o
  cierran sus hilos internos (el pool que crece, una que sobra y se cierra) y
  el servidor (``pg_stat_activity``: cuántas sesiones tiene abiertas el pool de
  este proceso, contadas por su ``application_name``). Mira cada
  ``intervalo_lento`` (0,1 s) mientras nada cambia y cada ``intervalo`` (10 ms)
  durante medio segundo tras un cambio: una petición en cola, un cambio de
  tamaño, un evento propio (:meth:`~RegistradorOcupacion.evento`) o un
  desacuerdo entre el pool y el servidor. Así, un experimento tranquilo solo
  paga una consulta al servidor cada décima de segundo.
* **La rejilla.** :attr:`~RegistradorOcupacion.muestras` añade una fila cada
  ``intervalo`` con el último estado conocido en ese instante, como si se
  hubiera muestreado: entre dos filas anotadas el estado no cambió (o el hilo
  lo habría visto, con el retraso de una mirada como mucho).

Los sucesos ``obtenida``, ``devuelta``, ``timeout`` y ``cerrado``, y los
eventos propios, quedan además en :attr:`~RegistradorOcupacion.eventos` con su
instante (``en_cola`` solo deja su fila: se ve en la columna ``esperando``).
Las consultas al servidor van por una conexión propia, fuera del pool: medir
no le quita huecos al experimento.

Uso::

    with RegistradorOcupacion() as registro:
        ...experimento...
    registro.muestras   # DataFrame
    registro.eventos    # DataFrame
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from .._pool_observable import PoolObservable
from ..conexion import Conexion
from .diagnostico import CONTAR_SESIONES, abrir_conexion_directa

COLUMNAS_MUESTRAS = ("t", "tamano", "disponibles", "en_uso", "esperando", "sesiones_servidor")
"""Columnas de :attr:`RegistradorOcupacion.muestras`; ``t`` en segundos desde el inicio."""

COLUMNAS_EVENTOS = ("t", "evento", "conexion")
"""Columnas de :attr:`RegistradorOcupacion.eventos`; ``conexion`` es el ``id()`` o ``None``."""

INTERVALO_LENTO = 0.1
"""Segundos entre dos miradas del hilo de fondo (pool y servidor) mientras nada cambia (si ``intervalo`` es menor)."""

VENTANA_RAPIDA = 0.5
"""Segundos que el hilo de fondo mira cada ``intervalo`` tras un cambio (cola, tamaño, evento propio, desacuerdo)."""

SUCESOS_SIN_EVENTO = frozenset({"en_cola"})
"""Sucesos del pool que dejan su muestra pero no una fila en :attr:`RegistradorOcupacion.eventos`."""

Lector = Callable[[], tuple[int, int, int]]
"""Función que lee ``(tamaño, disponibles, esperando)`` del pool."""

_reloj = time.perf_counter

# Cada fila anotada es una tupla:
#   (t, tamano, disponibles, en_uso, esperando, sesiones_servidor, suceso, conexion, extra)
# las del hilo de fondo llevan suceso = conexion = extra = None; «extra» es lo que añade quien pasa los sucesos
# (el tablero: quién pidió la conexión). Una sola tupla por suceso: es lo que cuesta registrar.
_SUCESO, _CONEXION, _EXTRA = 6, 7, 8


def lector_de_estado(pool: Any) -> Lector:
    """Una función que lee ``(tamaño, disponibles, esperando)`` del pool, lo más barata posible.

    Son las tres cifras instantáneas de ``get_stats()`` (``pool_size``,
    ``pool_available`` y ``requests_waiting``), leídas directamente de los
    atributos del pool (``_nconns``, ``_pool`` y ``_waiting``), sin copiar sus
    contadores en un diccionario en cada suceso. Si una versión futura de
    ``psycopg_pool`` los cambiara de nombre, se usa ``get_stats()``.
    """
    try:
        pool._nconns, len(pool._pool), len(pool._waiting)
    except (AttributeError, TypeError):

        def por_estadisticas() -> tuple[int, int, int]:
            stats = pool.get_stats()
            return stats["pool_size"], stats["pool_available"], stats["requests_waiting"]

        return por_estadisticas

    def directo() -> tuple[int, int, int]:
        return pool._nconns, len(pool._pool), len(pool._waiting)

    return directo


@dataclass(frozen=True)
class Resumen:
    """Las cifras que resumen un registro."""

    max_en_uso: int
    max_esperando: int
    max_sesiones_servidor: int
    timeouts: int
    duracion_s: float
    muestras: int


class RegistradorOcupacion:
    """Registra la ocupación de un pool: en cada suceso, y lo que el pool no avisa desde un hilo (gestor de contexto).

    :param pool: el pool a observar; por defecto el de :class:`Conexion`.
    :param intervalo: segundos entre filas de :attr:`muestras` (0.01 = 10 ms),
        y entre miradas del hilo de fondo mientras algo cambia.
    :param consultar_servidor: si ``False`` no se consulta ``pg_stat_activity``
        (la columna ``sesiones_servidor`` queda vacía, salvo
        :meth:`anotar_sesiones`).
    :param intervalo_lento: segundos entre miradas del hilo de fondo (y
        consultas al servidor) mientras nada cambia; por defecto
        ``max(intervalo, 0.1)``.
    """

    def __init__(
        self,
        pool: PoolObservable | None = None,
        intervalo: float = 0.01,
        consultar_servidor: bool = True,
        intervalo_lento: float | None = None,
    ) -> None:
        if intervalo <= 0:
            raise ValueError(f"El intervalo de muestreo debe ser positivo; llegó {intervalo!r} s.")
        if intervalo_lento is not None and intervalo_lento <= 0:
            raise ValueError(f"El intervalo lento debe ser positivo; llegó {intervalo_lento!r} s.")
        self.pool = pool
        self.intervalo = intervalo
        self.consultar_servidor = consultar_servidor
        self.intervalo_lento = max(intervalo, INTERVALO_LENTO) if intervalo_lento is None else intervalo_lento
        self._filas: list[tuple[Any, ...]] = []
        self._anotar = self._filas.append  # el camino caliente se ahorra buscar el método en cada suceso
        self._eventos_previos: list[tuple[float, str, int | None]] = []  # eventos propios antes de iniciar()
        self._parar = False
        self._aviso = threading.Event()  # despierta al hilo de fondo (para parar, o para mirar ya)
        self._hilo: threading.Thread | None = None
        self._iniciado = False
        self._inicio = 0.0
        self._fin: float | None = None
        self._conexion: psycopg.Connection | None = None
        self._aplicacion = Conexion.nombre_aplicacion()
        self._leer: Lector | None = None
        self._observador: Callable[[str, Any], None] | None = None
        self._directo = False
        self._libres: Any = ()
        self._cola: Any = ()
        self._sesiones: int | None = None  # la última cifra leída del servidor
        self._tamano_visto = -1  # el tamaño del pool en la última mirada del hilo
        self._rapido_hasta = 0.0  # hasta cuándo mira cada `intervalo` (time.perf_counter())
        self.miradas = 0
        """Cuántas veces miró el hilo de fondo (para ver cuánto cuesta observar)."""
        self.consultas_servidor = 0
        """Cuántas veces se consultó ``pg_stat_activity``."""

    # --- Arrancar y parar ----------------------------------------------------------------

    def iniciar(self, avisos: bool = True, hilo: bool = True) -> RegistradorOcupacion:
        """Empieza a registrar (lo hace ``with``).

        Con ``avisos=False`` no se apunta como observador del pool: quien lo use
        apunta uno hecho con :meth:`observador` (el tablero, que así añade un solo
        observador, con lo suyo dentro). Con ``hilo=False`` no arranca su hilo de
        fondo: quien lo use llama a :meth:`mirar` cuando le venga bien (el tablero,
        en cada dibujo, desde su propio hilo).
        """
        if self._iniciado:
            raise RuntimeError("Este registrador ya se inició; crea uno nuevo para otro experimento.")
        if self.pool is None:
            self.pool = Conexion.obtener_pool()
        self._leer = lector_de_estado(self.pool)
        self._directo = self._leer.__name__ == "directo"  # los atributos de psycopg_pool están donde se esperan
        if self._directo:  # psycopg_pool vacía estas colas, nunca las cambia por otras: se pueden guardar
            self._libres, self._cola = self.pool._pool, self.pool._waiting  # type: ignore[union-attr]
        if self.consultar_servidor:
            self._conexion = abrir_conexion_directa()
        self._inicio = time.perf_counter()
        self._mirar(inicial=True)
        self._observador = self.observador()
        if avisos:
            self.pool.observadores.append(self._observador)
        self._iniciado = True
        if hilo:
            self._hilo = threading.Thread(target=self._bucle, name="registrador-ocupacion", daemon=True)
            self._hilo.start()
        return self

    def detener(self) -> None:
        if not self._iniciado or self._fin is not None:
            return
        self._parar = True
        self._aviso.set()
        if self._hilo is not None:
            self._hilo.join()
        assert self.pool is not None
        if self._observador in self.pool.observadores:
            self.pool.observadores.remove(self._observador)
        self._mirar(siempre=True)
        self._fin = time.perf_counter()
        if self._conexion is not None:
            self._conexion.close()
            self._conexion = None

    @property
    def activo(self) -> bool:
        """``True`` entre :meth:`iniciar` y :meth:`detener`."""
        return self._iniciado and self._fin is None

    def __enter__(self) -> RegistradorOcupacion:
        return self.iniciar()

    def __exit__(
        self, tipo: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.detener()

    # --- Lo que se apunta ------------------------------------------------------------------

    def evento(self, nombre: str, conexion: psycopg.Connection | None = None) -> None:
        """Apunta un evento propio (además de los que avisa el pool).

        El hilo de fondo mira enseguida, y cada ``intervalo`` durante el medio
        segundo siguiente, también al servidor: un evento propio suele marcar
        algo que el servidor ve antes que el pool (una sesión cortada, por ejemplo).
        """
        self._rapido_hasta = time.perf_counter() + VENTANA_RAPIDA
        self._aviso.set()
        if self._leer is None:  # aún sin iniciar: solo el evento (sin estado del pool)
            ident = None if conexion is None else id(conexion)
            self._eventos_previos.append((_reloj() - self._inicio, nombre, ident))
            return
        self._al_suceso(nombre, conexion)

    def anotar_sesiones(self, sesiones: int | None) -> None:
        """Apunta una cifra de sesiones del servidor leída por otro (el tablero, que ya consulta el servidor).

        Sirve con ``consultar_servidor=False``: las muestras siguientes la llevan
        en ``sesiones_servidor`` sin que este registrador abra su propia conexión.
        """
        self._sesiones = sesiones

    @property
    def inicio(self) -> float:
        """Instante (``time.perf_counter()``) en que empezó el registro: el ``t = 0`` de las muestras."""
        return self._inicio

    def tiempo(self) -> float:
        """Segundos desde el inicio del registro, en el mismo reloj que la columna ``t``."""
        return time.perf_counter() - self._inicio

    def _al_suceso(self, nombre: str, conexion: psycopg.Connection | None, extra: Any = None) -> float:
        """Una fila con un suceso (la de :meth:`evento`; los del pool llegan por :meth:`observador`); devuelve su ``t``.

        ``en_cola`` llega con el cerrojo del pool tomado: aquí solo se leen
        cifras, sin tomar ningún cerrojo del pool.
        """
        t = _reloj() - self._inicio
        tamano, disponibles, esperando = self._leer()  # type: ignore[misc]
        self._anotar((t, tamano, disponibles, tamano - disponibles, esperando, self._sesiones, nombre,
                      None if conexion is None else id(conexion), extra))
        if tamano != self._tamano_visto or (nombre == "en_cola" and t + self._inicio >= self._rapido_hasta):
            self._despertar(t)
        return t

    def _despertar(self, t: float) -> None:
        """Alguien espera (el pool puede crecer por su cuenta) o el pool cambió de tamaño (el servidor
        tardará un poco en verlo): que el hilo de fondo mire ya, y de cerca."""
        self._rapido_hasta = t + self._inicio + VENTANA_RAPIDA
        self._aviso.set()

    def observador(
        self,
        al_prestar: Callable[[Any, float], Any] | None = None,
        al_encolar: Callable[[float], None] | None = None,
    ) -> Callable[[str, Any], None]:
        """El observador del pool de este registrador: una fila por suceso (el camino caliente).

        Es una función con todo lo que necesita a mano (sin buscar atributos en
        cada suceso): se llama dos veces por préstamo y su coste es lo que frena
        al experimento. ``al_prestar(conexion, t)``, si se da, se llama en cada
        ``obtenida`` y lo que devuelve viaja en la misma fila (el tablero anota
        ahí quién pidió la conexión); ``al_encolar(t)``, en cada ``en_cola``. Se
        hace después de :meth:`iniciar` (usa su instante inicial).
        """
        if not self._directo:

            def lento(nombre: str, conexion: Any) -> None:
                instante = _reloj() - self._inicio
                extra = al_prestar(conexion, instante) if al_prestar is not None and nombre == "obtenida" else None
                t = self._al_suceso(nombre, conexion, extra)
                if al_encolar is not None and nombre == "en_cola":
                    al_encolar(t)

            return lento
        anotar, reloj, inicio, yo = self._anotar, _reloj, self._inicio, self
        pool, libres, cola = self.pool, self._libres, self._cola

        def directo(nombre: str, conexion: Any) -> None:
            t = reloj() - inicio
            tamano = pool._nconns  # type: ignore[union-attr]
            disponibles = len(libres)
            esperando = len(cola)
            if nombre == "obtenida":
                extra = al_prestar(conexion, t) if al_prestar is not None else None
                anotar((t, tamano, disponibles, tamano - disponibles, esperando, yo._sesiones, nombre, id(conexion),
                        extra))
            else:
                anotar((t, tamano, disponibles, tamano - disponibles, esperando, yo._sesiones, nombre,
                        None if conexion is None else id(conexion), None))
                if nombre == "en_cola":
                    if al_encolar is not None:
                        al_encolar(t)
                    if t + inicio >= yo._rapido_hasta:
                        yo._despertar(t)
                        return
            if tamano != yo._tamano_visto:
                yo._despertar(t)

        return directo

    def mirar(self) -> None:
        """Mira ahora lo que el pool no avisa (y el servidor): lo que hace el hilo de fondo en cada vuelta."""
        self._mirar()

    def _mirar(self, inicial: bool = False, siempre: bool = False) -> None:
        """Lo que hace el hilo de fondo (y el principio y el final): mirar el pool y el servidor.

        Anota una fila si algo cambió desde la última (o con ``inicial`` o
        ``siempre``); si cambió el tamaño del pool, mira de cerca un rato.
        """
        assert self._leer is not None
        self.miradas += 1
        tamano, disponibles, esperando = self._leer()
        ahora = time.perf_counter()
        if self._conexion is not None:
            self._consultar_servidor(ahora, tamano)
            tamano, disponibles, esperando = self._leer()
        if not inicial and tamano != self._tamano_visto:
            self._rapido_hasta = max(self._rapido_hasta, ahora + VENTANA_RAPIDA)
        self._tamano_visto = tamano
        estado = (tamano, disponibles, tamano - disponibles, esperando, self._sesiones)
        if inicial:
            self._filas.append((0.0, *estado, None, None, None))
        elif siempre or not self._filas or self._filas[-1][1:6] != estado:
            self._filas.append((_reloj() - self._inicio, *estado, None, None, None))

    def _consultar_servidor(self, ahora: float, tamano: int) -> None:
        assert self._conexion is not None
        try:
            self._sesiones = self._conexion.execute(CONTAR_SESIONES, (self._aplicacion,)).fetchone()[0]
        except psycopg.Error:
            self._sesiones = None
        self.consultas_servidor += 1
        if self._tamano_visto >= 0 and self._sesiones != tamano:
            # El servidor aún no ve lo que dice el pool (o al revés): mirar de cerca un rato.
            self._rapido_hasta = max(self._rapido_hasta, ahora + VENTANA_RAPIDA)

    def _bucle(self) -> None:
        while not self._parar:
            rapido = time.perf_counter() < self._rapido_hasta
            self._aviso.wait(self.intervalo if rapido else self.intervalo_lento)
            self._aviso.clear()
            if self._parar:
                break
            self._mirar()

    # --- Resultados -------------------------------------------------------------------------

    def filas(self) -> list[tuple[Any, ...]]:
        """Las filas anotadas hasta ahora (sin la rejilla), ordenadas por ``t``, sin pandas.

        Tuplas ``(t, tamano, disponibles, en_uso, esperando, sesiones_servidor)``.
        """
        return [fila[:6] for fila in sorted(self._filas[:], key=lambda fila: fila[0])]

    @property
    def muestras(self) -> pd.DataFrame:
        """Una fila por muestra: ``t`` (s), ``tamano``, ``disponibles``, ``en_uso``, ``esperando`` y
        ``sesiones_servidor``, ordenadas por ``t``.

        Son las filas anotadas (una por suceso del pool, una por cada cambio que
        vio el hilo de fondo, una al empezar y otra al terminar) y la rejilla:
        una cada ``intervalo`` con el último estado anotado hasta ese instante.
        ``sesiones_servidor`` es la última cifra leída del servidor.
        """
        anotadas = pd.DataFrame(self.filas(), columns=list(COLUMNAS_MUESTRAS))
        rejilla = pd.DataFrame({"t": np.arange(0.0, self.duracion, self.intervalo)}) if len(anotadas) else None
        if rejilla is not None and len(rejilla):
            rellena = pd.merge_asof(rejilla, anotadas, on="t", direction="backward")
            anotadas = pd.concat([anotadas, rellena], ignore_index=True)
            anotadas = anotadas.sort_values("t", kind="stable", ignore_index=True)
        return anotadas.astype({"sesiones_servidor": "Int64"})

    @property
    def eventos(self) -> pd.DataFrame:
        """Una fila por evento: ``t`` (s), ``evento``, ``conexion`` (``id()`` de la conexión o nulo)."""
        filas = sorted(
            [*self._eventos_previos, *((f[0], f[_SUCESO], f[_CONEXION]) for f in self._filas[:]
                                       if f[_SUCESO] is not None and f[_SUCESO] not in SUCESOS_SIN_EVENTO)],
            key=lambda fila: fila[0],
        )
        tabla = pd.DataFrame(filas, columns=list(COLUMNAS_EVENTOS))
        return tabla.astype({"conexion": "Int64"})

    @property
    def duracion(self) -> float:
        """Segundos registrados (hasta ahora, si sigue en marcha)."""
        fin = self._fin if self._fin is not None else time.perf_counter()
        return fin - self._inicio

    def resumen(self) -> Resumen:
        m = self.muestras
        e = self.eventos
        return Resumen(
            max_en_uso=int(m["en_uso"].max()),
            max_esperando=int(m["esperando"].max()),
            max_sesiones_servidor=int(m["sesiones_servidor"].max()) if m["sesiones_servidor"].notna().any() else 0,
            timeouts=int((e["evento"] == "timeout").sum()),
            duracion_s=self.duracion,
            muestras=len(m),
        )
