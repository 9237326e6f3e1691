"""Tiempo por operación (``SELECT 1`` + ``commit``) de cada forma de pedir una conexión.

:func:`medir_operaciones` corre en un proceso hijo contra un servidor (el que
elija el paquete según el entorno). Cada ronda se reparte en tandas; en cada
tanda todas las variantes corren una vez, en orden aleatorio: así los cambios de
carga de la máquina las afectan por igual. Las variantes con registrador de
ocupación o con tablero van aparte, en :data:`TANDAS_LARGAS` tandas por ronda
(junto a su referencia sin ninguno de los dos) de unas décimas de segundo cada
una (:data:`SEGUNDOS_TANDA_LARGA`, algo más que el refresco del tablero, 0,25 s,
para que cada tanda pague al menos un dibujo): arrancar y parar el registrador
o el tablero (abren una conexión propia) en tandas de pocas operaciones
inflaría su coste. Sus sobrecostes se calculan tanda a tanda (cada variante con
la referencia de su misma tanda), que resiste mejor los cambios de carga de una
máquina compartida que la suma de la ronda.

:func:`medir_en_servidores` lo lanza desde el proceso principal: contra un
embebido temporal y, si hay ``DATABASE_URL`` o ``PG*``, contra ese servidor.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from _comun import CONSULTA, carpeta_embebido, entorno_embebido, entorno_externo, intentar_hijo, progreso
from capa_datos_persona import Conexion  # después de _comun, que pone la raíz del repositorio en sys.path

Variante = tuple[Callable[[int], float], int]
"""Una función que hace ``n`` operaciones y devuelve los segundos, y su ``n`` por ronda."""

OPERACIONES = {"normal": (2000, 200), "rapido": (300, 30)}
"""Operaciones por ronda y variante: (rápidas, con una conexión nueva por consulta)."""
BLOQUES = {"normal": 20, "rapido": 3}
"""Tandas por ronda de las variantes cortas."""
TANDAS_LARGAS = {"normal": 10, "rapido": 4}
"""Tandas por ronda de las variantes del registrador de ocupación, del tablero y su referencia."""
SEGUNDOS_TANDA_LARGA = 0.3
"""Duración aproximada de cada tanda larga: sus operaciones se calculan midiendo unas cuantas antes de empezar."""
RONDAS_POR_DEFECTO = {"normal": 7, "rapido": 2}
SEMILLA = 20240601
AJUSTES: dict[str, Any] = {"application_name": "capa_datos_persona:medir"}
LIMITE_S = 1800


@dataclass(frozen=True)
class Plan:
    """Cuántas rondas, tandas y operaciones."""

    rondas: int
    bloques: int
    n_rapidas: int
    n_conectar: int
    tandas_largas: int = 10
    segundos_tanda_larga: float = SEGUNDOS_TANDA_LARGA

    @classmethod
    def elegir(cls, rapido: bool, repeticiones: int | None) -> Plan:
        modo = "rapido" if rapido else "normal"
        return cls(repeticiones or RONDAS_POR_DEFECTO[modo], BLOQUES[modo], *OPERACIONES[modo], TANDAS_LARGAS[modo])


class Variantes:
    """Las formas de hacer ``n`` operaciones; cada método devuelve los segundos que tardó.

    Los bucles se repiten a propósito: lo cronometrado es exactamente el bucle,
    sin llamadas intermedias que sumarían su propio coste a cada operación.
    """

    def __init__(self, conninfo: str, fugas: ModuleType | None, tablero: ModuleType | None = None) -> None:
        self.conninfo = conninfo
        self.fugas = fugas
        self.tablero = tablero
        self.n_tanda_larga = 0
        self.conexion = psycopg.connect(conninfo, **AJUSTES)
        self.version = self.conexion.execute("SHOW server_version").fetchone()[0]
        self.conexion.commit()
        self.pool = ConnectionPool(
            conninfo, min_size=Conexion.MIN_CON, max_size=Conexion.MAX_CON, timeout=Conexion.TIMEOUT,
            kwargs=AJUSTES, name="pool_crudo", open=True,
        )
        self.pool.wait()
        Conexion.obtener_pool()  # creado aquí, fuera de lo cronometrado

    def dedicada(self, n: int) -> float:
        conexion = self.conexion
        t0 = time.perf_counter()
        for _ in range(n):
            conexion.execute(CONSULTA).fetchone()
            conexion.commit()
        return time.perf_counter() - t0

    def pool_crudo(self, n: int) -> float:
        pool = self.pool
        t0 = time.perf_counter()
        for _ in range(n):
            with pool.connection() as conexion:
                conexion.execute(CONSULTA).fetchone()
        return time.perf_counter() - t0

    def paquete(self, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            with Conexion.obtener_conexion() as conexion:
                conexion.execute(CONSULTA).fetchone()
        return time.perf_counter() - t0

    def por_consulta(self, n: int) -> float:
        conninfo = self.conninfo
        t0 = time.perf_counter()
        for _ in range(n):
            with psycopg.connect(conninfo, **AJUSTES) as conexion:
                conexion.execute(CONSULTA).fetchone()
        return time.perf_counter() - t0

    def manual(self, n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            conexion = Conexion.obtener_conexion_manual()
            conexion.execute(CONSULTA).fetchone()
            conexion.commit()
            Conexion.liberar_conexion(conexion)
        return time.perf_counter() - t0

    def manual_con_detector(self, n: int) -> float:
        assert self.fugas is not None
        self.fugas.activar_detector(umbral=5.0, avisar=False)
        try:
            return self.manual(n)
        finally:
            self.fugas.desactivar_detector()

    def con_registrador(self, intervalo: float, consultar_servidor: bool = True) -> Callable[[int], float]:
        """:meth:`paquete` con el registrador de ocupación en marcha (arrancarlo y pararlo no se cronometra)."""
        from capa_datos_persona.laboratorio.ocupacion import RegistradorOcupacion

        def medir(n: int) -> float:
            with RegistradorOcupacion(intervalo=intervalo, consultar_servidor=consultar_servidor):
                return self.paquete(n)

        return medir

    def con_tablero(self) -> Callable[[int], float]:
        """:meth:`paquete` con un ``Tablero`` abierto y su refresco por defecto (abrirlo y cerrarlo no se cronometra).

        No se muestra (no hay cuaderno), pero se dibuja igual en cada refresco: se
        mide todo lo que hace salvo enviar el HTML al navegador.
        """
        assert self.tablero is not None
        Tablero = self.tablero.Tablero

        def medir(n: int) -> float:
            with Tablero(mostrar=False):
                return self.paquete(n)

        return medir

    def operaciones_por_tanda_larga(self, segundos: float) -> int:
        """Cuántas operaciones de :meth:`paquete` caben en ``segundos`` (medido ahora, con una muestra corta)."""
        self.paquete(50)
        por_operacion = self.paquete(300) / 300
        return max(200, min(50_000, round(segundos / por_operacion)))

    def cortas(self, plan: Plan) -> dict[str, Variante]:
        variantes = {
            "dedicada": (self.dedicada, plan.n_rapidas),
            "pool_crudo": (self.pool_crudo, plan.n_rapidas),
            "paquete": (self.paquete, plan.n_rapidas),
            "por_consulta": (self.por_consulta, plan.n_conectar),
            "manual": (self.manual, plan.n_rapidas),
        }
        if self.fugas is not None:
            variantes["manual_detector"] = (self.manual_con_detector, plan.n_rapidas)
        return variantes

    def largas(self, plan: Plan) -> dict[str, Variante]:
        """Las variantes largas: unos :data:`SEGUNDOS_TANDA_LARGA` por tanda, ``plan.tandas_largas`` tandas."""
        self.n_tanda_larga = self.operaciones_por_tanda_larga(plan.segundos_tanda_larga)
        n = self.n_tanda_larga * plan.tandas_largas
        variantes = {
            "paquete_largo": (self.paquete, n),
            "registrador_10ms": (self.con_registrador(0.01), n),
            "registrador_1ms": (self.con_registrador(0.001), n),
            "registrador_1ms_solo_pool": (self.con_registrador(0.001, consultar_servidor=False), n),
        }
        if self.tablero is not None:
            variantes["tablero"] = (self.con_tablero(), n)
        return variantes

    def cerrar(self) -> None:
        Conexion.cerrar_conexiones()
        self.pool.close()
        self.conexion.close()


def ronda(
    variantes: dict[str, Variante],
    tandas: int,
    azar: random.Random,
    tiempos: dict[str, list[float]],
    por_tanda: dict[str, list[float]] | None = None,
) -> None:
    """Una ronda en ``tandas`` tandas intercaladas; añade a ``tiempos`` los µs por operación de cada variante.

    Con ``por_tanda``, añade además los µs por operación de cada tanda (para comparar tanda a tanda).
    """
    acumulado = dict.fromkeys(variantes, 0.0)
    n_tanda = {nombre: max(1, n // tandas) for nombre, (_, n) in variantes.items()}
    for _ in range(tandas):
        orden = list(variantes)
        azar.shuffle(orden)  # que ninguna variante vaya siempre primera o última
        for nombre in orden:
            segundos = variantes[nombre][0](n_tanda[nombre])
            acumulado[nombre] += segundos
            if por_tanda is not None:
                por_tanda[nombre].append(segundos / n_tanda[nombre] * 1e6)
    for nombre in variantes:
        tiempos[nombre].append(acumulado[nombre] / (n_tanda[nombre] * tandas) * 1e6)


def cronometrar(
    cortas: dict[str, Variante], largas: dict[str, Variante], plan: Plan
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Calienta todas las variantes y mide ``plan.rondas`` rondas.

    Devuelve los µs por operación de cada variante, una cifra por ronda, y los
    de las variantes largas, una cifra por tanda.
    """
    for funcion, n in [*cortas.values(), *largas.values()]:  # calentamiento
        funcion(max(10, n // 10))
    tiempos: dict[str, list[float]] = {nombre: [] for nombre in [*cortas, *largas]}
    por_tanda: dict[str, list[float]] = {nombre: [] for nombre in largas}
    azar = random.Random(SEMILLA)
    for _ in range(plan.rondas):
        ronda(cortas, plan.bloques, azar, tiempos)
        ronda(largas, plan.tandas_largas, azar, tiempos, por_tanda)
    return tiempos, por_tanda


def _modulo_fugas() -> ModuleType | None:
    """El detector de fugas del laboratorio, o ``None`` si esta versión del paquete no lo tiene."""
    try:
        from capa_datos_persona.laboratorio import fugas
    except ImportError:
        return None
    return fugas


def _modulo_tablero() -> ModuleType | None:
    """El tablero del laboratorio, o ``None`` si esta versión del paquete no lo tiene."""
    try:
        from capa_datos_persona.laboratorio import tablero
    except ImportError:
        return None
    return tablero


def medir_operaciones(plan: Plan) -> dict[str, Any]:
    """(Proceso hijo) Mide todas las variantes contra el servidor que elija el paquete."""
    from capa_datos_persona.logger_base import log
    from capa_datos_persona.servidor import usar_servidor

    log.setLevel("WARNING")  # sin una línea de DEBUG por cada liberar_conexion()
    destino = usar_servidor()  # arranca el embebido si hace falta
    variantes = Variantes(destino.conninfo, _modulo_fugas(), _modulo_tablero())
    tiempos, por_tanda = cronometrar(variantes.cortas(plan), variantes.largas(plan), plan)
    quedan_prestadas = Conexion.prestadas_manualmente()
    variantes.cerrar()
    return {
        "tipo": destino.tipo,
        "servidor": destino.descripcion(),
        "host_puerto": list(destino.host_y_puerto()),
        "version": variantes.version,
        "us": tiempos,
        "us_tandas": por_tanda,
        "detector": variantes.fugas is not None,
        "tablero": variantes.tablero is not None,
        "n_tanda_larga": variantes.n_tanda_larga,
        "prestadas_al_final": quedan_prestadas,
    }


def medir_en_servidores(plan: Plan, rapido: bool, notas: list[str]) -> list[dict[str, Any]]:
    """(Proceso principal) Operaciones en un embebido temporal y, si lo hay, en el servidor externo."""
    from capa_datos_persona.servidor import elegir_servidor

    argumentos = ["--_operaciones", "--repeticiones", str(plan.rondas)] + (["--rapido"] if rapido else [])
    progreso(f"Operaciones contra el PostgreSQL embebido ({plan.rondas} rondas)...")
    with carpeta_embebido() as carpeta:
        resultados = [intentar_hijo(argumentos, entorno_embebido(carpeta), LIMITE_S, notas,
                                    "Operaciones en el embebido: no se pudieron medir")]
    externo = elegir_servidor()
    if not externo.embebido:
        progreso(f"Operaciones contra el servidor externo ({externo.tipo}: {externo.descripcion()})...")
        resultados.append(intentar_hijo(argumentos, entorno_externo(), LIMITE_S, notas,
                                        f"Servidor externo ({externo.descripcion()}): no se pudo medir"))
    return [r for r in resultados if r is not None]
