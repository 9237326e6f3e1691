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
* :func:`ultima_carga`: la última carga medida con unos parámetros (las
  comprobaciones de los ejercicios comparan una predicción con ella).

Sus gráficas están en :mod:`.graficas` (``grafica_carga``, ``grafica_barrido``,
``grafica_ganancia``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from psycopg_pool import ConnectionPool

from ..conexion import Conexion
from ..servidor import usar_servidor
from .esperas import esperar_hasta
from .ocupacion import RegistradorOcupacion

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


_ULTIMAS: dict[tuple[int, int, str, float], Carga] = {}
"""La última :class:`Carga` de este proceso por ``(hilos, max_size, consulta, argumento)``."""


def ultima_carga(
    hilos: int, max_size: int, consulta: str = CONSULTA_ESPERA, argumento: float = 0.02
) -> Carga | None:
    """La última carga medida en este proceso con esos parámetros, o ``None`` si no hubo ninguna.

    También cuentan las de :func:`barrido_tamanos`. La usan las comprobaciones
    de los ejercicios que comparan una predicción con lo que se midió.
    """
    return _ULTIMAS.get((hilos, max_size, consulta, argumento))


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
    carga = Carga(hilos, usos, pool.max_size, duracion, peticiones, contador.maximo, registro)
    _ULTIMAS[(hilos, pool.max_size, consulta, argumento)] = carga
    return carga


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

    ``nucleos`` son los núcleos **físicos** del **servidor de base de datos**
    (sin contar los hilos de *hyper-threading*), no las CPU de la máquina
    cliente; y el resultado es el total de conexiones al servidor, sumando los
    pools de todos los procesos. ``discos`` (*effective spindle count*) es 0 si
    los datos caben en caché.
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
        if not esperar_hasta(lambda: pool.get_stats()["requests_waiting"] >= en_cola, espera_maxima, pausa=0.001):
            raise RuntimeError(f"Las {en_cola} peticiones no llegaron a la cola en {espera_maxima:g} s.")
        yield cola
    finally:
        for conexion in retenidas:
            pool.putconn(conexion)
        for hebra in hebras:
            hebra.join()
