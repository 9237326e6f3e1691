"""Registrar la ocupación del pool a lo largo del tiempo.

El :class:`RegistradorOcupacion` toma muestras en un hilo aparte, cada
``intervalo`` segundos (10 ms por defecto), de dos fuentes:

* el propio pool (``get_stats()``): tamaño, disponibles, en uso
  (= tamaño - disponibles) y peticiones esperando;
* el servidor (``pg_stat_activity``): cuántas sesiones tiene abiertas el pool
  de este proceso, contadas por su ``application_name``.

Además apunta los eventos del pool (``obtenida``, ``devuelta``, ``timeout``,
``cerrado``) con su instante. Sus consultas al servidor van por una conexión
propia, fuera del pool: medir no le quita huecos al experimento.

Uso::

    with RegistradorOcupacion() as registro:
        ...experimento...
    registro.muestras   # DataFrame
    registro.eventos    # DataFrame
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pandas as pd
import psycopg

from .._pool_observable import PoolObservable
from ..conexion import Conexion
from .diagnostico import CONTAR_SESIONES, abrir_conexion_directa

COLUMNAS_MUESTRAS = ("t", "tamano", "disponibles", "en_uso", "esperando", "sesiones_servidor")
"""Columnas de :attr:`RegistradorOcupacion.muestras`; ``t`` en segundos desde el inicio."""

COLUMNAS_EVENTOS = ("t", "evento", "conexion")
"""Columnas de :attr:`RegistradorOcupacion.eventos`; ``conexion`` es el ``id()`` o ``None``."""



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
    """Muestrea la ocupación de un pool en segundo plano (gestor de contexto).

    :param pool: el pool a observar; por defecto el de :class:`Conexion`.
    :param intervalo: segundos entre muestras (0.01 = 10 ms).
    :param consultar_servidor: si ``False`` no se consulta ``pg_stat_activity``
        (la columna ``sesiones_servidor`` queda vacía).
    """

    def __init__(
        self, pool: PoolObservable | None = None, intervalo: float = 0.01, consultar_servidor: bool = True
    ) -> None:
        if intervalo <= 0:
            raise ValueError(f"El intervalo de muestreo debe ser positivo; llegó {intervalo!r} s.")
        self.pool = pool
        self.intervalo = intervalo
        self.consultar_servidor = consultar_servidor
        self._filas: list[tuple[Any, ...]] = []
        self._eventos: list[tuple[float, str, int | None]] = []
        self._parar = threading.Event()
        self._hilo: threading.Thread | None = None
        self._inicio = 0.0
        self._fin: float | None = None
        self._conexion: psycopg.Connection | None = None
        self._aplicacion = Conexion.nombre_aplicacion()

    # --- Arrancar y parar ----------------------------------------------------------------

    def iniciar(self) -> RegistradorOcupacion:
        if self._hilo is not None:
            raise RuntimeError("Este registrador ya se inició; crea uno nuevo para otro experimento.")
        if self.pool is None:
            self.pool = Conexion.obtener_pool()
        if self.consultar_servidor:
            self._conexion = abrir_conexion_directa()
        self._inicio = time.perf_counter()
        self._tomar_muestra()
        self.pool.observadores.append(self._al_evento)
        self._hilo = threading.Thread(target=self._bucle, name="registrador-ocupacion", daemon=True)
        self._hilo.start()
        return self

    def detener(self) -> None:
        if self._hilo is None or self._fin is not None:
            return
        self._parar.set()
        self._hilo.join()
        assert self.pool is not None
        if self._al_evento in self.pool.observadores:
            self.pool.observadores.remove(self._al_evento)
        self._tomar_muestra()
        self._fin = time.perf_counter()
        if self._conexion is not None:
            self._conexion.close()
            self._conexion = None

    def __enter__(self) -> RegistradorOcupacion:
        return self.iniciar()

    def __exit__(
        self, tipo: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.detener()

    # --- Lo que se apunta ------------------------------------------------------------------

    def evento(self, nombre: str, conexion: psycopg.Connection | None = None) -> None:
        """Apunta un evento propio (además de los que avisa el pool)."""
        self._al_evento(nombre, conexion)

    def _al_evento(self, nombre: str, conexion: psycopg.Connection | None) -> None:
        self._eventos.append((time.perf_counter() - self._inicio, nombre, None if conexion is None else id(conexion)))

    def _tomar_muestra(self) -> None:
        assert self.pool is not None
        t = time.perf_counter() - self._inicio
        stats = self.pool.get_stats()
        sesiones = None
        if self._conexion is not None:
            try:
                sesiones = self._conexion.execute(CONTAR_SESIONES, (self._aplicacion,)).fetchone()[0]
            except psycopg.Error:
                sesiones = None
        tamano, disponibles = stats["pool_size"], stats["pool_available"]
        self._filas.append((t, tamano, disponibles, tamano - disponibles, stats["requests_waiting"], sesiones))

    def _bucle(self) -> None:
        siguiente = time.perf_counter()
        while not self._parar.is_set():
            siguiente += self.intervalo
            espera = siguiente - time.perf_counter()
            if espera > 0 and self._parar.wait(espera):
                break
            if espera <= 0:  # vamos tarde: no acumular muestras atrasadas
                siguiente = time.perf_counter()
            self._tomar_muestra()

    # --- Resultados -------------------------------------------------------------------------

    @property
    def muestras(self) -> pd.DataFrame:
        """Una fila por muestra: ``t`` (s), ``tamano``, ``disponibles``, ``en_uso``, ``esperando``, ``sesiones_servidor``."""
        tabla = pd.DataFrame(list(self._filas), columns=list(COLUMNAS_MUESTRAS))
        return tabla.astype({"sesiones_servidor": "Int64"})

    @property
    def eventos(self) -> pd.DataFrame:
        """Una fila por evento: ``t`` (s), ``evento``, ``conexion`` (``id()`` de la conexión o nulo)."""
        tabla = pd.DataFrame(list(self._eventos), columns=list(COLUMNAS_EVENTOS))
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
