"""Detector de fugas de conexiones: quién se llevó una conexión y no la devolvió.

``psycopg_pool`` no tiene nada parecido; el modelo es el
``leakDetectionThreshold`` de HikariCP (Java). Con el detector activo
(:func:`activar_detector`), cada conexión de ``Conexion.obtener_conexion_manual()``
queda anotada con el **lugar** donde se pidió (archivo y línea, o celda del
cuaderno) y la **hora**.

* :meth:`DetectorFugas.informe` lista las conexiones retenidas más de
  ``umbral`` segundos, con su lugar y el tiempo que llevan fuera.
* Con ``avisar=True`` se escribe un ``WARNING`` cuando una conexión pasa el
  umbral y una nota cuando esa conexión vuelve por fin al pool.
* Si una conexión prestada desaparece sin volver (Python la destruyó porque ya
  nadie la referenciaba), lo dice en el momento: el pool ha perdido ese hueco
  hasta que se cierre.
* Si un ``PoolTimeout`` llega con conexiones retenidas, antes del error se
  escribe quién las tiene.

Sin detector (lo normal) el coste es una comprobación ``is None`` por
préstamo. El umbral se revisa en cada préstamo y devolución, al pedir el
informe y, con ``vigilar=True``, también desde un hilo cada poco tiempo.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

import pandas as pd

from ..conexion import Conexion
from ..logger_base import log

# Los marcos de todo el paquete (capa de datos y laboratorio) no son «el código del alumno».
_PAQUETE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CELDA = re.compile(r"ipykernel_\d+[\\/]\d+\.py$")


def segundos(valor: float, formato: str = "g") -> str:
    """Segundos con coma decimal, como se escriben en español: ``segundos(0.5)`` da ``"0,5"``."""
    return format(valor, formato).replace(".", ",")


def origen_de_llamada(marco: FrameType | None = None) -> tuple[str, int]:
    """``(archivo, línea)`` del primer marco fuera de este paquete y de ``psycopg``.

    Un módulo del paquete que hace de «código del alumno» (la aplicación del
    cuaderno 12) lo declara con ``CODIGO_DE_APLICACION = True``.

    Es lo único que se guarda en cada préstamo (barato); el texto legible se
    compone solo cuando hace falta mostrarlo (:func:`describir_origen`).
    """
    marco = marco or sys._getframe(1)
    while marco is not None:
        archivo = marco.f_code.co_filename
        es_del_curso = archivo.startswith(_PAQUETE) and not marco.f_globals.get("CODIGO_DE_APLICACION")
        if not (es_del_curso or f"{os.sep}psycopg" in archivo):
            return archivo, marco.f_lineno
        marco = marco.f_back
    return "desconocido", 0


def describir_origen(origen: tuple[str, int]) -> str:
    """``archivo.py:línea`` o ``celda In[N], línea L``, sin rutas completas del equipo."""
    archivo, linea = origen
    if archivo == "desconocido":
        return archivo
    if _CELDA.search(archivo):
        return f"celda In[{numero_de_celda(archivo)}], línea {linea}"
    return f"{os.path.basename(archivo)}:{linea}"


# --- Qué celda (In[N]) compiló cada archivo temporal de ipykernel ----------------------------
# IPython 8 y posteriores lo recuerdan (``compile._filename_map``): es la referencia que muestran
# sus mensajes de error ("Cell In[5], line 3"). IPython 7 (el de Google Colab) no lo guarda: para
# él se anota aquí cada celda que se compila desde que se importa este módulo, y las de antes se
# buscan en el historial.
_CELDAS_IPYTHON7: dict[str, int] = {}


def _compilador() -> Any:
    """El compilador de celdas del IPython en marcha (``None`` fuera de IPython)."""
    if "IPython" not in sys.modules:  # sin IPython cargado no hay celdas: no se importa por esto
        return None
    try:
        from IPython import get_ipython

        return get_ipython().compile  # type: ignore[union-attr]
    except Exception:
        return None


def numero_de_celda(archivo: str) -> int | str:
    """El ``N`` de ``In[N]`` de la celda que compiló ``archivo``, o ``"?"`` si no se sabe."""
    compilador = _compilador()
    if compilador is None:
        return "?"
    mapa = getattr(compilador, "_filename_map", None)  # IPython 8+
    if mapa is not None:
        return mapa.get(archivo, "?")
    if archivo in _CELDAS_IPYTHON7:
        return _CELDAS_IPYTHON7[archivo]
    # IPython 7, celda compilada antes de importar este módulo: la del historial que da ese archivo
    # (nbval ejecuta sin historial: por eso se anotan las celdas desde que se importa el módulo).
    try:
        from IPython import get_ipython

        historial = get_ipython().history_manager  # type: ignore[union-attr]
        for numero in range(len(historial.input_hist_raw) - 1, 0, -1):
            crudo, transformado = historial.input_hist_raw[numero], historial.input_hist_parsed[numero]
            if compilador.get_code_name(crudo, transformado, numero) == archivo:
                return numero
    except Exception:
        pass
    return "?"


def _anotar_celdas_en_ipython7() -> None:
    """En IPython 7, anota en ``_CELDAS_IPYTHON7`` el número de cada celda que se compila."""
    compilador = _compilador()
    if compilador is None or hasattr(compilador, "_filename_map") or hasattr(compilador.cache, "_capa_anota"):
        return
    original = compilador.cache

    def cache(transformed_code: str, number: int = 0, raw_code: str | None = None) -> str:
        nombre = original(transformed_code, number, raw_code)
        _CELDAS_IPYTHON7[nombre] = number
        return nombre

    cache._capa_anota = True  # type: ignore[attr-defined]
    compilador.cache = cache


_anotar_celdas_en_ipython7()


@dataclass(slots=True)
class Prestamo:
    """Una conexión prestada a mano que el detector vigila."""

    conexion: int
    """``id()`` de la conexión."""
    origen: tuple[str, int]
    """``(archivo, línea)`` donde se pidió; ver :attr:`lugar`."""
    desde: float
    """Instante del préstamo (``time.monotonic()``)."""
    hora_unix: float
    """Hora del préstamo (``time.time()``)."""
    avisado: bool = False
    fin: float | None = None
    """Instante en que se perdió (si se perdió)."""
    _vigia: Any = field(default=None, repr=False)

    @property
    def lugar(self) -> str:
        return describir_origen(self.origen)

    @property
    def hora(self) -> datetime:
        return datetime.fromtimestamp(self.hora_unix)

    def retenida(self, ahora: float | None = None) -> float:
        return (self.fin if self.fin is not None else (ahora or time.monotonic())) - self.desde


class DetectorFugas:
    """Anota cada préstamo manual y avisa de los que tardan o se pierden.

    No se crea a mano: :func:`activar_detector` (``umbral=...``).
    """

    def __init__(self, umbral: float = 5.0, avisar: bool = True, vigilar: bool = False) -> None:
        if umbral <= 0:
            raise ValueError(f"El umbral del detector de fugas debe ser positivo; llegó {segundos(umbral)} s.")
        self.umbral = umbral
        self.avisar = avisar
        self._prestadas: dict[int, Prestamo] = {}
        self._perdidas: list[Prestamo] = []
        self._proxima = float("inf")  # cuándo podría pasar el umbral la próxima conexión
        self._cerrojo = threading.Lock()
        self._parar = threading.Event()
        self._hilo: threading.Thread | None = None
        if vigilar:
            self._hilo = threading.Thread(target=self._vigilar, name="detector-fugas", daemon=True)
            self._hilo.start()

    # --- Lo que llama Conexion (el protocolo ``Vigilante`` de ``_prestamos``) ---------------------------------------------------------

    def prestada(self, conexion: object, marco: FrameType | None) -> None:
        origen = origen_de_llamada(marco)
        ident = id(conexion)
        ahora = time.monotonic()
        prestamo = Prestamo(ident, origen, ahora, time.time())
        # Una referencia débil con aviso: si la conexión desaparece sin volver, nos enteramos.
        prestamo._vigia = weakref.ref(conexion, lambda _ref, ident=ident: self._perdida(ident))
        with self._cerrojo:
            self._prestadas[ident] = prestamo
            self._proxima = min(self._proxima, ahora + self.umbral)
        self.revisar()

    def devuelta(self, conexion: object) -> None:
        self.revisar()  # si pasó el umbral, que se avise antes de anotar su vuelta
        with self._cerrojo:
            prestamo = self._prestadas.pop(id(conexion), None)
        if prestamo is None:
            return
        prestamo._vigia = None  # ya no hace falta vigilarla
        if prestamo.avisado and self.avisar:
            log.info(
                f"Por fin vuelve al pool la conexión id={prestamo.conexion} pedida en {prestamo.lugar}, "
                f"tras {segundos(prestamo.retenida(), '.1f')} s fuera"
            )

    def antes_de_timeout(self) -> None:
        """Explica un ``PoolTimeout``: quién tiene las conexiones y cuáles se perdieron."""
        with self._cerrojo:
            prestadas = list(self._prestadas.values())
            perdidas = list(self._perdidas)
        if not prestadas and not perdidas:
            return
        texto = "Pool agotado."
        if prestadas:
            cuantas = (
                "Hay 1 conexión pedida a mano sin devolver"
                if len(prestadas) == 1
                else f"Hay {len(prestadas)} conexiones pedidas a mano sin devolver"
            )
            partes = [f"id={p.conexion} en {p.lugar} ({segundos(p.retenida(), '.1f')} s)" for p in prestadas]
            texto += f" {cuantas}: " + "; ".join(partes) + "."
        if perdidas:
            n = len(perdidas)
            cuantas = "1 conexión se perdió" if n == 1 else f"{n} conexiones se perdieron"
            texto += f" {'Además, ' if prestadas else ''}{cuantas} sin volver al pool (huecos que ya no recupera)."
        log.warning(texto)

    def pool_cerrado(self) -> None:
        """El pool se cerró: sus huecos perdidos se fueron con él (el siguiente pool empieza entero)."""
        with self._cerrojo:
            self._perdidas.clear()

    # --- Consultas ---------------------------------------------------------------------

    def revisar(self) -> list[Prestamo]:
        """Las retenidas más de ``umbral``; avisa (una vez) de las que acaban de pasarlo."""
        ahora = time.monotonic()
        if ahora < self._proxima:  # lo normal: nadie puede haber pasado el umbral todavía
            return []
        nuevas = []
        with self._cerrojo:
            largas = [p for p in self._prestadas.values() if p.retenida(ahora) > self.umbral]
            for p in largas:
                if not p.avisado:
                    p.avisado = True
                    nuevas.append(p)
            pendientes = [p.desde + self.umbral for p in self._prestadas.values() if not p.avisado]
            self._proxima = min(pendientes, default=float("inf"))
        if self.avisar:
            for p in nuevas:
                log.warning(
                    f"Posible fuga: la conexión id={p.conexion} pedida en {p.lugar} lleva "
                    f"más de {segundos(self.umbral)} s sin volver al pool"
                )
        return largas

    @property
    def perdidas(self) -> list[Prestamo]:
        """Conexiones que desaparecieron sin volver al pool."""
        with self._cerrojo:
            return list(self._perdidas)

    def informe(self, todas: bool = False) -> pd.DataFrame:
        """Tabla de conexiones retenidas más de ``umbral`` (o ``todas``) y de las perdidas.

        Columnas: ``conexion`` (id), ``lugar``, ``hora`` (del préstamo),
        ``retenida_s`` y ``estado`` (``"prestada"`` o ``"perdida"``).
        """
        self.revisar()
        ahora = time.monotonic()
        with self._cerrojo:
            prestadas = [p for p in self._prestadas.values() if todas or p.retenida(ahora) > self.umbral]
            filas = [(p, "prestada") for p in prestadas] + [(p, "perdida") for p in self._perdidas]
        return pd.DataFrame(
            [
                {
                    "conexion": p.conexion,
                    "lugar": p.lugar,
                    "hora": p.hora.strftime("%H:%M:%S"),
                    "retenida_s": round(p.retenida(ahora), 1),
                    "estado": estado,
                }
                for p, estado in filas
            ],
            columns=["conexion", "lugar", "hora", "retenida_s", "estado"],
        )

    def detener(self) -> None:
        """Para el hilo vigilante (si lo hay) y deja de vigilar los préstamos."""
        self._parar.set()
        if self._hilo is not None:
            self._hilo.join()
        with self._cerrojo:
            for p in self._prestadas.values():
                p._vigia = None
            self._prestadas.clear()

    # --- Interno -----------------------------------------------------------------------

    def _perdida(self, ident: int) -> None:
        with self._cerrojo:
            prestamo = self._prestadas.pop(ident, None)
            if prestamo is None:
                return
            prestamo.fin = time.monotonic()
            self._perdidas.append(prestamo)
        log.warning(
            f"Conexión perdida: la pedida en {prestamo.lugar} desapareció sin volver al pool "
            f"(nadie llamó a liberar_conexion). El pool ha perdido ese hueco hasta que se cierre; "
            f"usa `with` o devuélvela en un `finally`."
        )

    def _vigilar(self) -> None:
        pausa = min(self.umbral / 4, 1.0)
        while not self._parar.wait(pausa):
            self.revisar()


# --- Encenderlo y apagarlo ----------------------------------------------------------------


def activar_detector(umbral: float = 5.0, avisar: bool = True, vigilar: bool = False) -> DetectorFugas:
    """Empieza a anotar dónde y cuándo se pide cada conexión manual del pool de ``Conexion``.

    :param umbral: segundos a partir de los cuales una conexión retenida es sospechosa.
    :param avisar: escribir un ``WARNING`` al pasar el umbral y una nota al volver.
    :param vigilar: revisar el umbral también desde un hilo (si no, se revisa en
        cada préstamo, devolución o informe).
    """
    global _activo
    desactivar_detector()
    _activo = DetectorFugas(umbral=umbral, avisar=avisar, vigilar=vigilar)
    Conexion.vigilar_prestamos(_activo)
    log.debug(f"Detector de fugas activado: umbral {segundos(umbral)} s")
    return _activo


def desactivar_detector() -> None:
    """Deja de vigilar (coste cero a partir de aquí)."""
    global _activo
    detector, _activo = _activo, None
    if detector is not None:
        Conexion.vigilar_prestamos(None)
        detector.detener()
        log.debug("Detector de fugas desactivado")


def detector_activo() -> DetectorFugas | None:
    """El detector activo, o ``None``."""
    return _activo


_activo: DetectorFugas | None = None
