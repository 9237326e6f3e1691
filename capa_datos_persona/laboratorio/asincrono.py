"""El pool asíncrono en el laboratorio: hilos frente a corrutinas, y sus trampas (cuaderno 11).

* :func:`medir_hilos` y :func:`medir_corrutinas`: **la misma carga** con cada
  modelo. Llegan ``peticiones`` peticiones a la vez; cada una pide una conexión
  a un pool de ``tamano`` conexiones, ejecuta ``SELECT pg_sleep(0.02)`` y la
  devuelve. Con hilos, un ``threading.Thread`` por petición y un
  ``psycopg_pool.ConnectionPool``; con corrutinas, una tarea de ``asyncio`` por
  petición y un ``psycopg_pool.AsyncConnectionPool``. Los dos pools se crean
  iguales, ya llenos, para cada medida. Se mide la duración, el rendimiento
  (peticiones por segundo), la espera media hasta obtener la conexión y la
  **memoria del proceso** (RSS) que hizo falta de más.
* :func:`medir_en_proceso_nuevo`: una de las dos medidas en un proceso de
  Python nuevo. :func:`comparar` y :func:`barrido` las hacen así, una detrás
  de otra, y las juntan en una tabla; :func:`grafica_hilos_corrutinas` la dibuja.
* :func:`memoria_python`: lo mismo medido con ``tracemalloc``, que solo ve los
  objetos de Python (y no las pilas de los hilos).
* :func:`en_otro_hilo`: ejecuta algo en un hilo aparte y deja de esperarlo a
  los pocos segundos (para enseñar, sin colgar el cuaderno, un pool usado desde
  otro bucle de eventos).
* :func:`diez_a_la_vez`: lanza varias llamadas a una corrutina a la vez y mide
  si el bucle de eventos se quedó parado (ejercicio 11.4).
* :func:`sesiones_asincronas`: cuántas sesiones tiene en el servidor el pool de
  :class:`~capa_datos_persona.conexion_asincrona.ConexionAsincrona`.

**Qué memoria se mide y por qué.** Un hilo necesita su propia pila (en Linux se
reservan 8 MiB de direcciones, y el sistema le da memoria real a medida que la
toca); ``tracemalloc`` no la ve: solo ve los objetos que crea Python. Por eso
la cifra principal es la **memoria residente** (RSS: la que el proceso ocupa de
verdad en la RAM). Un hilo aparte la lee cada 2 ms durante la carga; la medida
es el máximo menos lo que había al empezar, dividido entre las peticiones. Y se
toma en un **proceso nuevo** para cada medida: un proceso que ya trabajó
guarda memoria libre que Python reutiliza sin pedir más al sistema, y la carga
parecería casi gratis (con corrutinas, medidas seguidas en el mismo proceso
dan unas décimas de KiB por petición, frente a las 7 a 14 de un proceso nuevo).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import math
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from ..conexion import Conexion
from ..conexion_asincrona import ConexionAsincrona
from ..servidor import usar_servidor
from .diagnostico import CONTAR_SESIONES, conexion_directa
from .esperas import esperar_hasta

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

CONSULTA_ESPERA = "SELECT pg_sleep(%s)"
"""La consulta de cada petición: el servidor solo **espera** ``argumento`` segundos."""

HILOS, CORRUTINAS = "hilos", "corrutinas"

INTERVALO_MEMORIA = 0.002
"""Cada cuántos segundos se lee la memoria del proceso durante una medida."""


# --- Una medida ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Medida:
    """El resultado de :func:`medir_hilos` o :func:`medir_corrutinas`."""

    modo: str
    """``"hilos"`` o ``"corrutinas"``."""
    peticiones: int
    tamano: int
    """Conexiones del pool (``min_size = max_size``)."""
    argumento: float
    """Segundos de ``pg_sleep`` de cada consulta."""
    duracion: float
    """Segundos desde que se lanzan las peticiones hasta que termina la última (crear los hilos cuenta)."""
    esperas: tuple[float, ...]
    """Segundos que esperó cada petición atendida hasta obtener su conexión."""
    memoria: int
    """Bytes de memoria residente (RSS) de más: el máximo durante la carga menos lo que había al empezar."""
    errores: tuple[str, ...] = ()

    @property
    def completadas(self) -> int:
        return len(self.esperas)

    @property
    def rendimiento(self) -> float:
        """Peticiones atendidas por segundo."""
        return self.completadas / self.duracion if self.duracion > 0 else 0.0

    @property
    def espera_media(self) -> float:
        return sum(self.esperas) / len(self.esperas) if self.esperas else 0.0

    @property
    def memoria_por_peticion(self) -> float:
        """Bytes de RSS de más por cada petición en curso."""
        return self.memoria / self.peticiones


_ULTIMAS: dict[tuple[str, int, int, float], Medida] = {}


def ultima_medida(modo: str, peticiones: int, tamano: int = 5, argumento: float = 0.02) -> Medida | None:
    """La última medida de este proceso con esos parámetros (las comprobaciones de los ejercicios la usan)."""
    return _ULTIMAS.get((modo, peticiones, tamano, argumento))


def techo(tamano: int = 5, argumento: float = 0.02) -> float:
    """El rendimiento máximo posible: ``tamano`` consultas a la vez, cada una de ``argumento`` segundos."""
    return tamano / argumento


def duracion_ideal(peticiones: int, tamano: int = 5, argumento: float = 0.02) -> float:
    """Segundos que tardaría la carga si no costara nada prestar y devolver: tandas de ``tamano`` consultas."""
    return math.ceil(peticiones / tamano) * argumento


def espera_ideal(peticiones: int, tamano: int = 5, argumento: float = 0.02) -> float:
    """Espera media ideal si todas llegan a la vez: la petición ``i`` espera ``i // tamano`` tandas."""
    return sum((i // tamano) * argumento for i in range(peticiones)) / peticiones


class _MemoriaMaxima:
    """Lee la memoria residente del proceso cada :data:`INTERVALO_MEMORIA` s en un hilo y guarda el máximo."""

    def __init__(self) -> None:
        self._proceso = psutil.Process()
        self._fin = threading.Event()
        self.inicial = 0
        self.maxima = 0

    def _leer(self) -> None:
        while not self._fin.wait(INTERVALO_MEMORIA):
            self.maxima = max(self.maxima, self._proceso.memory_info().rss)

    def __enter__(self) -> _MemoriaMaxima:
        gc.collect()  # que la basura de antes no cuente
        self.inicial = self.maxima = self._proceso.memory_info().rss
        self._hilo = threading.Thread(target=self._leer, name="memoria-maxima", daemon=True)
        self._hilo.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._fin.set()
        self._hilo.join()
        self.maxima = max(self.maxima, self._proceso.memory_info().rss)

    @property
    def aumento(self) -> int:
        return max(0, self.maxima - self.inicial)


def _comprobar(peticiones: int, tamano: int) -> None:
    if peticiones < 1 or tamano < 1:
        raise ValueError(f"Hacen falta al menos 1 petición y 1 conexión; llegaron {peticiones} y {tamano}.")


def _ajustes(aplicacion: str) -> dict[str, Any]:
    return {"application_name": aplicacion}


def medir_hilos(peticiones: int = 50, tamano: int = 5, argumento: float = 0.02, timeout: float = 30.0) -> Medida:
    """La carga con un hilo por petición y un ``ConnectionPool`` de ``tamano`` conexiones.

    Crea el pool (con el ``application_name`` de :class:`Conexion`), espera a
    que tenga sus ``tamano`` conexiones, lanza los hilos a la vez y espera a que
    terminen; después cierra el pool. Una petición que falla se anota en
    :attr:`Medida.errores`.
    """
    _comprobar(peticiones, tamano)
    pool = ConnectionPool(
        usar_servidor().conninfo, min_size=tamano, max_size=tamano, timeout=timeout, name="pool_hilos",
        kwargs=_ajustes(Conexion.nombre_aplicacion()), open=False,
    )
    pool.open(wait=True, timeout=10.0)
    esperas: list[float] = []
    errores: list[str] = []

    def atender() -> None:
        pedida = time.perf_counter()
        try:
            with pool.connection() as conexion:
                esperas.append(time.perf_counter() - pedida)
                conexion.execute(CONSULTA_ESPERA, (argumento,))
        except Exception as exc:  # se anota y se sigue: la medida dice cuántas fallaron
            errores.append(f"{type(exc).__name__}: {exc}")

    try:
        with _MemoriaMaxima() as memoria:
            inicio = time.perf_counter()
            hilos = [threading.Thread(target=atender, name=f"peticion-{i}") for i in range(peticiones)]
            for hilo in hilos:
                hilo.start()
            for hilo in hilos:
                hilo.join()
            duracion = time.perf_counter() - inicio
    finally:
        pool.close()
    medida = Medida(HILOS, peticiones, tamano, argumento, duracion, tuple(esperas), memoria.aumento, tuple(errores))
    _ULTIMAS[(HILOS, peticiones, tamano, argumento)] = medida
    return medida


async def medir_corrutinas(
    peticiones: int = 50, tamano: int = 5, argumento: float = 0.02, timeout: float = 30.0
) -> Medida:
    """La carga con una corrutina (tarea) por petición y un ``AsyncConnectionPool`` de ``tamano`` conexiones.

    Igual que :func:`medir_hilos`, pero todo en el bucle de eventos que la
    ejecuta: ``await asincrono.medir_corrutinas()`` en un cuaderno,
    ``asyncio.run(asincrono.medir_corrutinas())`` en un script.
    """
    _comprobar(peticiones, tamano)
    servidor = await asyncio.to_thread(usar_servidor)  # puede arrancar el servidor embebido: fuera del bucle
    esperas: list[float] = []
    errores: list[str] = []
    async with AsyncConnectionPool(
        servidor.conninfo, min_size=tamano, max_size=tamano, timeout=timeout, name="pool_corrutinas",
        kwargs=_ajustes(ConexionAsincrona.nombre_aplicacion()), open=False,
    ) as pool:
        await pool.wait(timeout=10.0)

        async def atender() -> None:
            pedida = time.perf_counter()
            try:
                async with pool.connection() as conexion:
                    esperas.append(time.perf_counter() - pedida)
                    await conexion.execute(CONSULTA_ESPERA, (argumento,))
            except Exception as exc:
                errores.append(f"{type(exc).__name__}: {exc}")

        with _MemoriaMaxima() as memoria:
            inicio = time.perf_counter()
            await asyncio.gather(*(atender() for _ in range(peticiones)))
            duracion = time.perf_counter() - inicio
    medida = Medida(CORRUTINAS, peticiones, tamano, argumento, duracion, tuple(esperas), memoria.aumento,
                    tuple(errores))
    _ULTIMAS[(CORRUTINAS, peticiones, tamano, argumento)] = medida
    return medida


# --- Cada medida en un proceso nuevo ---------------------------------------------------------

_MARCA = "MEDIDA:"


def _medir_y_escribir(modo: str, peticiones: int, tamano: int, argumento: float) -> None:
    """Lo que ejecuta el proceso nuevo de :func:`medir_en_proceso_nuevo`: mide y escribe la medida en JSON."""
    if modo == HILOS:
        medida = medir_hilos(peticiones, tamano, argumento)
    elif modo == CORRUTINAS:
        if sys.platform == "win32":  # psycopg no funciona con el bucle por defecto de Windows (Proactor)
            asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())  # type: ignore[attr-defined]
        medida = asyncio.run(medir_corrutinas(peticiones, tamano, argumento))
    else:
        raise ValueError(f"El modo debe ser {HILOS!r} o {CORRUTINAS!r}; llegó {modo!r}.")
    print(_MARCA + json.dumps(asdict(medida)), flush=True)


def medir_en_proceso_nuevo(modo: str, peticiones: int = 50, tamano: int = 5, argumento: float = 0.02) -> Medida:
    """:func:`medir_hilos` o :func:`medir_corrutinas` en un proceso de Python **nuevo**, y su resultado.

    Un proceso nuevo no tiene memoria libre sobrante de medidas anteriores (que
    Python reutilizaría sin pedir más al sistema): así la memoria que se mide es
    la que esa carga necesita de verdad. Usa el mismo servidor que este proceso.
    """
    if modo not in (HILOS, CORRUTINAS):
        raise ValueError(f"El modo debe ser {HILOS!r} o {CORRUTINAS!r}; llegó {modo!r}.")
    _comprobar(peticiones, tamano)
    usar_servidor()  # que el servidor embebido esté en marcha antes de lanzar el proceso
    raiz = str(Path(__file__).resolve().parents[2])
    entorno = dict(os.environ)
    entorno["PYTHONPATH"] = os.pathsep.join(filter(None, [raiz, entorno.get("PYTHONPATH")]))
    orden = (
        "from capa_datos_persona.laboratorio.asincrono import _medir_y_escribir; "
        f"_medir_y_escribir({modo!r}, {int(peticiones)}, {int(tamano)}, {float(argumento)!r})"
    )
    hecho = subprocess.run([sys.executable, "-c", orden], capture_output=True, text=True, env=entorno,
                           timeout=120, check=False)
    lineas = [linea for linea in hecho.stdout.splitlines() if linea.startswith(_MARCA)]
    if hecho.returncode != 0 or not lineas:
        detalle = (hecho.stderr.strip().splitlines() or ["(sin mensaje)"])[-1]
        raise RuntimeError(f"La medida con {modo} en un proceso nuevo falló: {detalle}")
    datos = json.loads(lineas[-1][len(_MARCA):])
    medida = Medida(**{**datos, "esperas": tuple(datos["esperas"]), "errores": tuple(datos["errores"])})
    _ULTIMAS[(modo, peticiones, tamano, argumento)] = medida
    return medida


# --- Las dos juntas, en una tabla -------------------------------------------------------------


def _fila(medida: Medida) -> dict[str, Any]:
    return {
        "modo": medida.modo,
        "peticiones": medida.peticiones,
        "duracion_s": medida.duracion,
        "rendimiento": medida.rendimiento,
        "espera_media_ms": 1000 * medida.espera_media,
        "memoria_kib_por_peticion": medida.memoria_por_peticion / 1024,
        "errores": len(medida.errores),
    }


async def comparar(peticiones: int = 50, tamano: int = 5, argumento: float = 0.02) -> pd.DataFrame:
    """La misma carga con hilos y con corrutinas, cada una en un proceso nuevo: una fila por modo.

    Las dos medidas van una detrás de otra (nunca a la vez, para que no se
    quiten CPU). Mientras, este bucle de eventos queda libre: se espera a cada
    proceso con ``asyncio.to_thread``.

    Columnas: ``modo``, ``peticiones``, ``duracion_s``, ``rendimiento``
    (peticiones/s), ``espera_media_ms``, ``memoria_kib_por_peticion`` y ``errores``.
    """
    import pandas as pd

    filas = []
    for modo in (HILOS, CORRUTINAS):
        filas.append(_fila(await asyncio.to_thread(medir_en_proceso_nuevo, modo, peticiones, tamano, argumento)))
    return pd.DataFrame(filas)


async def barrido(peticiones: Iterable[int] = (50, 200, 500), tamano: int = 5, argumento: float = 0.02) -> pd.DataFrame:
    """:func:`comparar` con cada número de peticiones, en una sola tabla (mismas columnas)."""
    import pandas as pd

    tablas = [await comparar(n, tamano, argumento) for n in peticiones]
    return pd.concat(tablas, ignore_index=True)


class _PicoPython:
    """``with _PicoPython() as pico: ...``: en ``pico.bytes``, cuánto subió la memoria de objetos de Python.

    Es el pico de ``tracemalloc`` dentro del bloque sobre lo que había al entrar.
    Sirve igual para código normal y para un ``await`` dentro del bloque.
    """

    bytes = 0

    def __enter__(self) -> _PicoPython:
        self._ya_trazaba = tracemalloc.is_tracing()
        if not self._ya_trazaba:
            tracemalloc.start()
        gc.collect()
        tracemalloc.reset_peak()
        self._inicial = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *_: object) -> None:
        self.bytes = tracemalloc.get_traced_memory()[1] - self._inicial
        if not self._ya_trazaba:
            tracemalloc.stop()


def _pico_python(funcion: Callable[[], Any]) -> tuple[Any, int]:
    with _PicoPython() as pico:
        resultado = funcion()
    return resultado, pico.bytes


async def memoria_python(peticiones: int = 200, tamano: int = 5, argumento: float = 0.02) -> dict[str, float]:
    """Bytes **de objetos de Python** por petición en curso, según ``tracemalloc``, con hilos y con corrutinas.

    ``tracemalloc`` apunta cada objeto que crea Python (marcos, tareas, futuros,
    conexiones...), pero no la pila de cada hilo, que reserva el sistema
    operativo. Esta medida enseña qué parte de la diferencia **no** ve. Va
    aparte de :func:`comparar` porque trazar la memoria hace más lento a Python.
    """
    _, con_hilos = await asyncio.to_thread(_pico_python, lambda: medir_hilos(peticiones, tamano, argumento))

    with _PicoPython() as pico:
        await medir_corrutinas(peticiones, tamano, argumento)
    return {HILOS: con_hilos / peticiones, CORRUTINAS: pico.bytes / peticiones}


# --- La gráfica -------------------------------------------------------------------------------

TAMANO_LETRA = 13
COLORES = {HILOS: "tab:orange", CORRUTINAS: "tab:blue"}


def grafica_hilos_corrutinas(tabla: pd.DataFrame, tamano: int = 5, argumento: float = 0.02) -> Figure:
    """Tres paneles frente al número de peticiones: rendimiento, espera media y memoria por petición.

    Con líneas grises discontinuas, el techo del rendimiento (:func:`techo`) y
    la espera ideal (:func:`espera_ideal`). La leyenda va debajo, fuera de los datos.
    """
    import matplotlib.pyplot as plt

    fig, ejes = plt.subplots(1, 3, figsize=(14, 4.8), layout="constrained")
    rendimiento, espera, memoria = ejes
    cantidades = sorted(int(n) for n in tabla["peticiones"].unique())
    for modo, datos in tabla.groupby("modo", sort=False):
        datos = datos.sort_values("peticiones")
        estilo = {"marker": "o", "linewidth": 2.6, "color": COLORES.get(str(modo)), "label": str(modo)}
        rendimiento.plot(datos["peticiones"], datos["rendimiento"], **estilo)
        espera.plot(datos["peticiones"], datos["espera_media_ms"], **estilo)
        memoria.plot(datos["peticiones"], datos["memoria_kib_por_peticion"], **estilo)
    rendimiento.axhline(techo(tamano, argumento), color="0.45", linestyle="--", linewidth=1.8,
                        label=f"techo: {tamano} conexiones / {argumento:g} s".replace(".", ","))
    espera.plot(cantidades, [1000 * espera_ideal(n, tamano, argumento) for n in cantidades], color="0.3",
                linestyle=":", linewidth=2.2, label="espera ideal (tandas de consultas)")
    rendimiento.set_title("Rendimiento", fontsize=TAMANO_LETRA + 1)
    rendimiento.set_ylabel("peticiones por segundo", fontsize=TAMANO_LETRA)
    rendimiento.set_ylim(0, 1.25 * techo(tamano, argumento))
    espera.set_title("Espera media por una conexión", fontsize=TAMANO_LETRA + 1)
    espera.set_ylabel("espera media (ms)", fontsize=TAMANO_LETRA)
    memoria.set_title("Memoria del proceso (RSS)", fontsize=TAMANO_LETRA + 1)
    memoria.set_ylabel("KiB de más por petición en curso", fontsize=TAMANO_LETRA)
    for eje in ejes:
        eje.set_xlabel("peticiones a la vez", fontsize=TAMANO_LETRA)
        eje.set_xticks(cantidades)
        eje.set_ylim(bottom=0)
        eje.tick_params(labelsize=TAMANO_LETRA - 1)
        eje.grid(True, alpha=0.3)
    manejadores, etiquetas = [], []
    for eje in (rendimiento, espera):
        for manejador, etiqueta in zip(*eje.get_legend_handles_labels()):
            if etiqueta not in etiquetas:
                manejadores.append(manejador)
                etiquetas.append(etiqueta)
    fig.legend(manejadores, etiquetas, loc="outside lower center", ncols=4, fontsize=TAMANO_LETRA - 1)
    fig.suptitle(f"Hilos frente a corrutinas con un pool de {tamano} conexiones", fontsize=TAMANO_LETRA + 3)
    return fig


# --- En otro hilo, sin colgar el cuaderno -----------------------------------------------------


@dataclass
class Intento:
    """Una función que corre en un hilo aparte (ver :func:`en_otro_hilo`)."""

    nombre: str
    inicio: float = field(default_factory=time.perf_counter)
    valor: Any = None
    error: BaseException | None = None
    fin: float | None = None
    _hecho: threading.Event = field(default_factory=threading.Event, repr=False)

    def esperar(self, plazo: float) -> bool:
        """Espera hasta ``plazo`` segundos más a que termine; ``True`` si ya terminó."""
        return self._hecho.wait(plazo)

    @property
    def terminado(self) -> bool:
        return self._hecho.is_set()

    @property
    def segundos(self) -> float:
        """Segundos que tardó (o que lleva, si no ha terminado)."""
        return (self.fin if self.fin is not None else time.perf_counter()) - self.inicio

    def resultado(self) -> Any:
        """Lo que devolvió la función; si lanzó una excepción, la vuelve a lanzar aquí."""
        if not self.terminado:
            raise TimeoutError(f"«{self.nombre}» todavía no ha terminado.")
        if self.error is not None:
            raise self.error
        return self.valor


def en_otro_hilo(funcion: Callable[[], Any], plazo: float = 1.5, nombre: str | None = None) -> Intento:
    """Ejecuta ``funcion()`` en un hilo aparte y la espera como mucho ``plazo`` segundos.

    Devuelve un :class:`Intento` tanto si terminó como si no: si se quedó
    colgada, el cuaderno sigue (el hilo es *daemon*: no impide cerrar el kernel),
    y puedes volver a esperarla con ``intento.esperar(segundos)``. Un hilo nuevo
    no tiene bucle de eventos: dentro, ``asyncio.run(...)`` crea uno propio.
    """
    intento = Intento(nombre or getattr(funcion, "__name__", "función"))

    def correr() -> None:
        try:
            intento.valor = funcion()
        except BaseException as exc:  # se entrega a quien pida el resultado
            intento.error = exc
        finally:
            intento.fin = time.perf_counter()
            intento._hecho.set()

    threading.Thread(target=correr, name=f"otro-hilo-{intento.nombre}", daemon=True).start()
    intento.esperar(plazo)
    return intento


# --- ¿Bloquea el bucle? (ejercicio 11.4) ------------------------------------------------------


@dataclass(frozen=True)
class PruebaConcurrencia:
    """El resultado de :func:`diez_a_la_vez`."""

    veces: int
    segundos: float
    """Argumento que recibió cada llamada."""
    duracion: float
    """Segundos hasta que terminaron todas."""
    retraso_maximo: float
    """El mayor retraso (s) con el que despertó una tarea vigía que duerme 5 ms una y otra vez."""
    errores: tuple[str, ...] = ()
    en_uso_al_final: int = 0
    """Conexiones que seguían prestadas al terminar (de los pools de ``Conexion`` y ``ConexionAsincrona``)."""
    problema: str | None = None
    """Por qué no se pudo probar (por ejemplo, si no es una función ``async def``)."""


_PRUEBAS: list[PruebaConcurrencia] = []


def prueba_registrada(prueba: object) -> bool:
    """``True`` si ``prueba`` salió de :func:`diez_a_la_vez` en este proceso."""
    return any(prueba is p for p in _PRUEBAS)


def _en_uso(pool: Any) -> int:
    if pool is None or pool.closed:
        return 0
    estadisticas = pool.get_stats()
    return int(estadisticas["pool_size"] - estadisticas["pool_available"])


async def diez_a_la_vez(funcion: Callable[[float], Awaitable[Any]], veces: int = 10,
                        segundos: float = 0.05) -> PruebaConcurrencia:
    """Lanza ``veces`` llamadas ``funcion(segundos)`` a la vez y mide si el bucle de eventos siguió atendiendo.

    Mientras tanto, una tarea vigía duerme 5 ms una y otra vez y anota con
    cuánto retraso despierta: si alguna llamada bloquea el bucle (``time.sleep``,
    una consulta con el pool de hilos...), el vigía despierta tarde.
    """
    if not inspect.iscoroutinefunction(funcion):
        prueba = PruebaConcurrencia(veces, segundos, 0.0, 0.0, problema=(
            f"{getattr(funcion, '__name__', funcion)!r} no es una corrutina: defínela con `async def`."))
        _PRUEBAS.append(prueba)
        return prueba
    fin = asyncio.Event()
    retrasos: list[float] = []

    async def vigia() -> None:
        while not fin.is_set():
            antes = time.perf_counter()
            await asyncio.sleep(0.005)
            retrasos.append(time.perf_counter() - antes - 0.005)

    errores: list[str] = []

    async def llamar() -> None:
        try:
            await funcion(segundos)
        except Exception as exc:
            errores.append(f"{type(exc).__name__}: {exc}")

    tarea_vigia = asyncio.create_task(vigia())
    await asyncio.sleep(0)  # que el vigía empiece a mirar antes de la carga
    inicio = time.perf_counter()
    await asyncio.gather(*(llamar() for _ in range(veces)))
    duracion = time.perf_counter() - inicio
    fin.set()
    await tarea_vigia
    en_uso = _en_uso(Conexion._pool) + _en_uso(ConexionAsincrona._pool)  # también las prestadas a mano
    prueba = PruebaConcurrencia(veces, segundos, duracion, max(retrasos, default=duracion), tuple(errores), en_uso)
    _PRUEBAS.append(prueba)
    return prueba


# --- Sesiones del pool asíncrono --------------------------------------------------------------


def sesiones_asincronas(espera: float = 0.0, aplicacion: str | None = None) -> int:
    """Sesiones abiertas en el servidor con el ``application_name`` de :class:`ConexionAsincrona` (u otro).

    Con ``espera`` > 0 espera hasta esos segundos a que lleguen a 0 (el servidor
    tarda un momento en cerrar una sesión después de que el cliente se va).
    """
    nombre = ConexionAsincrona.nombre_aplicacion() if aplicacion is None else aplicacion
    with conexion_directa() as propia:

        def contar() -> int:
            fila = propia.execute(CONTAR_SESIONES, (nombre,)).fetchone()
            return int(fila[0]) if fila else 0

        if espera > 0:
            esperar_hasta(lambda: contar() == 0, espera, pausa=0.05)
        return contar()

