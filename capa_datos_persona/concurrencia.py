"""Varios hilos comparten el pool: esperas, rendimiento y tamaño del pool.

* :func:`ejecutar_carga`: ``hilos`` hilos usan a la vez el pool de
  :class:`~capa_datos_persona.conexion.Conexion`; cada uno hace ``usos``
  bloques ``with Conexion.obtener_conexion()`` con una consulta de duración
  conocida (``SELECT pg_sleep(0.02)`` por defecto). Anota cuánto esperó cada
  petición hasta obtener su conexión y, si se pide, registra la ocupación del
  pool con un :class:`~capa_datos_persona.ocupacion.RegistradorOcupacion`.
* :func:`barrido_tamanos`: la misma carga con pools de distinto ``max_size``
  (uno nuevo para cada tamaño); devuelve rendimiento y espera media en un
  ``DataFrame``.
* :func:`pool_limitado` y :func:`cola_llena`: un pool con ``max_waiting``, para
  ver ``TooManyRequests`` (rechazo inmediato en lugar de esperar ``timeout``).
* :func:`grafica_carga`, :func:`grafica_barrido`, :func:`grafica_ganancia`:
  las gráficas para proyectar en clase.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from psycopg_pool import ConnectionPool

from .conexion import Conexion
from .graficas import TAMANO_LETRA, grafica_ocupacion
from .ocupacion import RegistradorOcupacion
from .servidor import usar_servidor

CONSULTA_ESPERA = "SELECT pg_sleep(%s)"
"""Una consulta que solo **espera** (el servidor no gasta CPU): su argumento son segundos."""

CONSULTA_CPU = "SELECT count(*) FROM generate_series(1, %s)"
"""Una consulta que **calcula** (ocupa un núcleo del servidor): su argumento es cuántas filas genera."""


# --- Una carga concurrente ----------------------------------------------------------------


@dataclass(frozen=True)
class Peticion:
    """Un uso del pool por un hilo: cuándo pidió la conexión, cuánto esperó y si falló."""

    hilo: int
    uso: int
    t: float
    """Instante (s) en que se pidió la conexión; con registro, en el reloj del registrador."""
    espera: float
    """Segundos desde que se pidió la conexión hasta tenerla (o hasta el error)."""
    retenida: float
    """Segundos con la conexión prestada (consulta + ``commit``); 0 si falló."""
    error: str | None = None


@dataclass
class Carga:
    """El resultado de :func:`ejecutar_carga`."""

    hilos: int
    usos: int
    max_size: int
    duracion: float
    """Segundos desde que arrancan los hilos hasta que termina el último uso."""
    peticiones: list[Peticion]
    max_simultaneas: int
    """Máximo de hilos que tuvieron una conexión prestada a la vez (contado por los propios hilos)."""
    registro: RegistradorOcupacion | None = None

    @property
    def completados(self) -> int:
        return sum(p.error is None for p in self.peticiones)

    @property
    def errores(self) -> list[str]:
        return [p.error for p in self.peticiones if p.error is not None]

    @property
    def rendimiento(self) -> float:
        """Usos completados por segundo."""
        return self.completados / self.duracion if self.duracion > 0 else 0.0

    @property
    def espera_media(self) -> float:
        """Segundos de espera medios de las peticiones que obtuvieron conexión."""
        esperas = [p.espera for p in self.peticiones if p.error is None]
        return sum(esperas) / len(esperas) if esperas else 0.0

    @property
    def espera_maxima(self) -> float:
        return max((p.espera for p in self.peticiones if p.error is None), default=0.0)

    @property
    def tabla(self) -> pd.DataFrame:
        """Una fila por petición: ``hilo``, ``uso``, ``t``, ``espera``, ``retenida``, ``error``."""
        columnas = ["hilo", "uso", "t", "espera", "retenida", "error"]
        return pd.DataFrame([vars(p) for p in self.peticiones], columns=columnas)


@dataclass
class _Contador:
    """Cuántos hilos tienen ahora una conexión prestada, y el máximo visto."""

    ahora: int = 0
    maximo: int = 0
    cerrojo: threading.Lock = field(default_factory=threading.Lock)

    def sumar(self, cantidad: int) -> None:
        with self.cerrojo:
            self.ahora += cantidad
            self.maximo = max(self.maximo, self.ahora)


def ejecutar_carga(
    hilos: int = 8,
    usos: int = 10,
    consulta: str = CONSULTA_ESPERA,
    argumento: float = 0.02,
    registrar: bool = True,
    intervalo: float = 0.01,
    consultar_servidor: bool = True,
) -> Carga:
    """``hilos`` hilos hacen ``usos`` bloques ``with Conexion.obtener_conexion()`` cada uno, a la vez.

    Usa el pool actual de :class:`Conexion` (lo crea si no existe) y no lo
    cierra. Cada uso ejecuta ``consulta`` con ``argumento``. Un uso que falla
    (por ejemplo con ``PoolTimeout``) se anota en :attr:`Carga.errores` y el
    hilo sigue con el siguiente. Con ``registrar=True`` todo ocurre dentro de
    un :class:`RegistradorOcupacion` (en :attr:`Carga.registro`).
    """
    if hilos < 1 or usos < 1:
        raise ValueError(f"Hacen falta al menos 1 hilo y 1 uso; llegaron hilos={hilos}, usos={usos}.")
    pool = Conexion.obtener_pool()
    registro = None
    if registrar:
        registro = RegistradorOcupacion(pool, intervalo=intervalo, consultar_servidor=consultar_servidor)
    peticiones: list[Peticion] = []
    finales: list[float] = []
    contador = _Contador()
    origen: dict[str, float] = {}

    def marcar_salida() -> None:  # la ejecuta un solo hilo cuando todos han llegado a la barrera
        origen["inicio"] = time.perf_counter()
        origen["desfase"] = registro.duracion if registro is not None else 0.0

    salida = threading.Barrier(hilos, action=marcar_salida)

    def trabajar(hilo: int) -> None:
        salida.wait()
        inicio, desfase = origen["inicio"], origen["desfase"]
        for uso in range(usos):
            pedida = time.perf_counter()
            obtenida: float | None = None
            devuelta: float | None = None
            try:
                with Conexion.obtener_conexion() as conexion:
                    obtenida = time.perf_counter()
                    contador.sumar(1)
                    try:
                        conexion.execute(consulta, (argumento,))
                    finally:
                        contador.sumar(-1)
                devuelta = time.perf_counter()
                error = None
            except Exception as exc:  # se anota y se sigue: el informe dice cuántos fallaron
                error = f"{type(exc).__name__}: {exc}"
            fin = time.perf_counter()
            espera = (obtenida if obtenida is not None else fin) - pedida
            retenida = devuelta - obtenida if (obtenida is not None and devuelta is not None) else 0.0
            peticiones.append(Peticion(hilo, uso, pedida - inicio + desfase, espera, retenida, error))
        finales.append(time.perf_counter())

    hebras = [threading.Thread(target=trabajar, args=(h,), name=f"carga-{h}") for h in range(hilos)]
    if registro is not None:
        registro.iniciar()
    try:
        for hebra in hebras:
            hebra.start()
        for hebra in hebras:
            hebra.join()
    finally:
        if registro is not None:
            registro.detener()
    duracion = max(finales) - origen["inicio"]
    peticiones.sort(key=lambda p: p.t)
    return Carga(hilos, usos, pool.max_size, duracion, peticiones, contador.maximo, registro)


# --- El barrido de tamaños ------------------------------------------------------------------


def barrido_tamanos(
    tamanos: Iterable[int] | None = None,
    hilos: int = 8,
    usos: int = 10,
    consulta: str = CONSULTA_ESPERA,
    argumento: float = 0.02,
    precalentar: bool = True,
    etiqueta: str | None = None,
) -> pd.DataFrame:
    """La misma carga con un pool nuevo de cada ``max_size`` (por defecto de 1 a ``hilos``).

    Con ``precalentar=True`` cada pool se abre ya con todas sus conexiones
    (``MIN_CON = MAX_CON``): se mide el pool en marcha, no su crecimiento.
    Al terminar (también si algo falla) cierra el pool y restaura
    ``Conexion.MIN_CON`` y ``Conexion.MAX_CON``.

    Columnas: ``max_size``, ``rendimiento`` (usos/s), ``espera_media_ms``,
    ``espera_maxima_ms``, ``max_en_uso``, ``errores``, ``duracion_s``,
    ``ganancia`` (rendimiento / el del primer tamaño) y ``carga`` (la etiqueta).
    """
    tamanos = list(range(1, hilos + 1) if tamanos is None else tamanos)
    if not tamanos or min(tamanos) < 1:
        raise ValueError(f"Los tamaños del pool deben ser enteros de 1 en adelante; llegó {tamanos!r}.")
    etiqueta = etiqueta or consulta.replace("%s", f"{argumento:g}")
    originales = (Conexion.MIN_CON, Conexion.MAX_CON)
    filas = []
    try:
        for tamano in tamanos:
            Conexion.cerrar_conexiones()
            Conexion.MAX_CON = tamano
            Conexion.MIN_CON = tamano if precalentar else min(originales[0], tamano)
            Conexion.obtener_pool()
            carga = ejecutar_carga(hilos, usos, consulta, argumento, registrar=False)
            filas.append(
                {
                    "max_size": tamano,
                    "rendimiento": carga.rendimiento,
                    "espera_media_ms": 1000 * carga.espera_media,
                    "espera_maxima_ms": 1000 * carga.espera_maxima,
                    "max_en_uso": carga.max_simultaneas,
                    "errores": len(carga.errores),
                    "duracion_s": carga.duracion,
                }
            )
    finally:
        Conexion.cerrar_conexiones()
        Conexion.MIN_CON, Conexion.MAX_CON = originales
    tabla = pd.DataFrame(filas)
    tabla["ganancia"] = tabla["rendimiento"] / tabla["rendimiento"].iloc[0]
    tabla["carga"] = etiqueta
    return tabla


def regla_hikari(nucleos: int, discos: int = 0) -> int:
    """La regla orientativa de HikariCP: ``conexiones = núcleos * 2 + discos efectivos``.

    ``discos`` (*effective spindle count*) es 0 si los datos caben en caché.
    """
    return nucleos * 2 + discos


# --- max_waiting y TooManyRequests --------------------------------------------------------


def pool_limitado(max_waiting: int = 1, max_size: int = 1, timeout: float | None = None,
                  nombre: str = "pool_limitado") -> ConnectionPool:
    """Un ``ConnectionPool`` aparte, ya abierto, con ``max_waiting`` peticiones en cola como mucho.

    Se conecta al mismo servidor que :class:`Conexion`, con su mismo
    ``application_name`` (así ``cerrar_y_comprobar()`` vería sus sesiones si
    te olvidas de cerrarlo). Ciérralo con ``close()`` o úsalo en un ``with``.
    """
    pool = ConnectionPool(
        usar_servidor().conninfo,
        min_size=max_size,
        max_size=max_size,
        max_waiting=max_waiting,
        timeout=Conexion.TIMEOUT if timeout is None else timeout,
        name=nombre,
        kwargs={"application_name": Conexion.nombre_aplicacion()},
        open=False,
    )
    pool.open(wait=True, timeout=5.0)
    return pool


@dataclass
class Cola:
    """Lo que pasó en :func:`cola_llena`: conexiones retenidas y peticiones en cola."""

    retenidas: int
    en_cola: int
    atendidas: int = 0
    """Peticiones de la cola que obtuvieron su conexión cuando se liberaron las retenidas."""
    errores: list[str] = field(default_factory=list)


@contextmanager
def cola_llena(pool: ConnectionPool, en_cola: int | None = None, espera_maxima: float = 5.0) -> Iterator[Cola]:
    """Deja el pool sin conexiones libres y con ``en_cola`` peticiones esperando (por defecto ``max_waiting``).

    Dentro del ``with`` cualquier ``getconn()`` más recibe ``TooManyRequests``
    (si el pool tiene ``max_waiting``). Al salir devuelve las conexiones
    retenidas, y los hilos de la cola obtienen la suya, la devuelven y terminan.
    """
    en_cola = pool.max_waiting if en_cola is None else en_cola
    retenidas = [pool.getconn() for _ in range(pool.max_size)]
    cola = Cola(len(retenidas), en_cola)
    cerrojo = threading.Lock()

    def esperar_turno() -> None:
        try:
            pool.putconn(pool.getconn())
        except Exception as exc:
            with cerrojo:
                cola.errores.append(f"{type(exc).__name__}: {exc}")
        else:
            with cerrojo:
                cola.atendidas += 1

    hebras = [threading.Thread(target=esperar_turno, name=f"en-cola-{i}") for i in range(en_cola)]
    try:
        for hebra in hebras:
            hebra.start()
        limite = time.monotonic() + espera_maxima
        while pool.get_stats()["requests_waiting"] < en_cola:
            if time.monotonic() > limite:
                raise RuntimeError(f"Las {en_cola} peticiones no llegaron a la cola en {espera_maxima:g} s.")
            time.sleep(0.001)
        yield cola
    finally:
        for conexion in retenidas:
            pool.putconn(conexion)
        for hebra in hebras:
            hebra.join()


# --- Gráficas ---------------------------------------------------------------------------------


def grafica_carga(carga: Carga, titulo: str | None = None) -> Figure:
    """Arriba, la ocupación del pool (en uso, esperando...); abajo, la espera de cada petición."""
    if carga.registro is None:
        raise ValueError("Esta carga se hizo sin registro: usa ejecutar_carga(registrar=True).")
    titulo = titulo or f"{carga.hilos} hilos comparten un pool de {carga.max_size} conexiones"
    fig, (arriba, abajo) = plt.subplots(2, 1, figsize=(12, 8), sharex=True, layout="constrained",
                                        gridspec_kw={"height_ratios": [3, 2]})
    grafica_ocupacion(carga.registro, titulo=titulo, ax=arriba, maximo=carga.max_size, leyenda=False)
    arriba.set_xlabel("")
    arriba.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=TAMANO_LETRA - 3, framealpha=0.9)

    tabla = carga.tabla
    bien, mal = tabla[tabla["error"].isna()], tabla[tabla["error"].notna()]
    abajo.scatter(bien["t"], 1000 * bien["espera"], s=22, color="tab:purple", alpha=0.7,
                  label="espera de cada petición")
    if len(mal):
        abajo.scatter(mal["t"], 1000 * mal["espera"], s=60, marker="X", color="black", label="petición fallida")
    abajo.axhline(1000 * carga.espera_media, color="tab:purple", linestyle="--", linewidth=1.8,
                  label="espera media")
    abajo.set_title("Cuánto esperó cada petición para obtener su conexión", fontsize=TAMANO_LETRA + 1)
    abajo.set_xlabel("instante en que se pidió la conexión (s)", fontsize=TAMANO_LETRA)
    abajo.set_ylabel("espera (ms)", fontsize=TAMANO_LETRA)
    abajo.set_ylim(bottom=0)
    abajo.tick_params(labelsize=TAMANO_LETRA - 1)
    abajo.grid(True, alpha=0.3)
    abajo.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    return fig


def grafica_barrido(tabla: pd.DataFrame, duracion_uso: float | None = None, hilos: int | None = None) -> Figure:
    """Rendimiento y espera media frente a ``max_size`` (una línea por valor de ``carga``).

    Con ``duracion_uso`` (s) y ``hilos`` dibuja además el rendimiento ideal
    ``min(max_size, hilos) / duracion_uso``.
    """
    fig, (izq, der) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for etiqueta, datos in tabla.groupby("carga", sort=False):
        izq.plot(datos["max_size"], datos["rendimiento"], marker="o", linewidth=2.4, label=f"medido: {etiqueta}")
        der.plot(datos["max_size"], datos["espera_media_ms"], marker="o", linewidth=2.4, label=f"medida: {etiqueta}")
    if duracion_uso and hilos:
        tamanos = sorted(tabla["max_size"].unique())
        izq.plot(tamanos, [min(t, hilos) / duracion_uso for t in tamanos], linestyle="--", color="0.4",
                 label=f"ideal: min(max_size, {hilos} hilos) / {duracion_uso:g} s")
    if hilos:
        for ax in (izq, der):
            ax.axvline(hilos, color="tab:orange", linestyle=":", linewidth=2, label=f"{hilos} hilos")
    izq.set_title("Rendimiento", fontsize=TAMANO_LETRA + 1)
    izq.set_ylabel("usos por segundo", fontsize=TAMANO_LETRA)
    der.set_title("Espera media para obtener una conexión", fontsize=TAMANO_LETRA + 1)
    der.set_ylabel("espera media (ms)", fontsize=TAMANO_LETRA)
    for ax in (izq, der):
        ax.set_xlabel("max_size (conexiones del pool)", fontsize=TAMANO_LETRA)
        ax.set_xticks(sorted(tabla["max_size"].unique()))
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=TAMANO_LETRA - 1)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    fig.suptitle("¿Cuántas conexiones necesita el pool?", fontsize=TAMANO_LETRA + 3)
    return fig


def grafica_ganancia(tablas: Sequence[pd.DataFrame], hilos: int | None = None, nucleos: int | None = None) -> Figure:
    """La ganancia (rendimiento / el de ``max_size`` 1) de varias cargas, con los hilos y los núcleos marcados."""
    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    tamanos: set[int] = set()
    colores = ("tab:blue", "tab:brown", "tab:green", "tab:purple")
    for i, tabla in enumerate(tablas):
        ax.plot(tabla["max_size"], tabla["ganancia"], marker="o", linewidth=2.6, color=colores[i % len(colores)],
                label=str(tabla["carga"].iloc[0]))
        tamanos.update(int(t) for t in tabla["max_size"])
    if hilos:
        ax.axhline(hilos, color="tab:orange", linestyle=":", linewidth=2.2, label=f"{hilos} hilos (techo de la carga)")
    if nucleos:
        ax.axhline(nucleos, color="tab:red", linestyle="-.", linewidth=2, label=f"{nucleos} núcleos (os.cpu_count())")
    ax.set_title("Ganancia al agrandar el pool: ¿la consulta espera o calcula?", fontsize=TAMANO_LETRA + 2)
    ax.set_xlabel("max_size (conexiones del pool)", fontsize=TAMANO_LETRA)
    ax.set_ylabel("rendimiento / rendimiento con 1 conexión (veces)", fontsize=TAMANO_LETRA)
    ax.set_xticks(sorted(tamanos))
    # Con muchos núcleos (o en un contenedor que ve los del anfitrión) la línea queda fuera: no aplastar el resto.
    techo = max([hilos or 0, min(nucleos or 0, 2 * (hilos or 8))] + [float(t["ganancia"].max()) for t in tablas])
    ax.set_ylim(0, techo + 1)
    ax.tick_params(labelsize=TAMANO_LETRA - 1)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    return fig
