"""Los tres experimentos del curso, listos para registrar y graficar.

Cada función cierra el pool que hubiera y empieza con uno nuevo (así todos
parten de ``MIN_CON`` conexiones), registra la ocupación mientras trabaja y
devuelve un :class:`Experimento` con el registro. Nunca deja conexiones
prestadas: el agotamiento devuelve las suyas al final.

* :func:`experimento_with`: ``usos`` bloques ``with`` seguidos; cada uno
  retiene la conexión ``retencion`` segundos.
* :func:`experimento_manual`: ``cuantas`` conexiones con
  ``obtener_conexion_manual()``, retenidas a la vez, devueltas una a una con
  ``liberar_conexion()`` dentro de ``try/finally``.
* :func:`experimento_agotamiento`: ``MAX_CON + 1`` peticiones sin devolver
  ninguna: la última espera ``TIMEOUT`` segundos y recibe ``PoolTimeout``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
from psycopg_pool import PoolTimeout

from ..conexion import Conexion
from .ocupacion import RegistradorOcupacion, Resumen


@dataclass
class Experimento:
    """Un experimento ya hecho: su nombre, su registro y los errores que provocó."""

    nombre: str
    registro: RegistradorOcupacion
    errores: list[str] = field(default_factory=list)

    def resumen(self) -> Resumen:
        return self.registro.resumen()


def _nuevo_pool() -> None:
    Conexion.cerrar_conexiones()
    Conexion.obtener_pool()


def experimento_with(usos: int = 6, retencion: float = 0.05, intervalo: float = 0.01) -> Experimento:
    """``usos`` bloques ``with Conexion.obtener_conexion()`` uno tras otro."""
    _nuevo_pool()
    with RegistradorOcupacion(intervalo=intervalo) as registro:
        time.sleep(retencion)
        for _ in range(usos):
            with Conexion.obtener_conexion() as conexion:
                conexion.execute("SELECT 1")
                time.sleep(retencion)
            time.sleep(retencion)
    return Experimento("with (automático)", registro)


def experimento_manual(cuantas: int = 3, retencion: float = 0.05, intervalo: float = 0.01) -> Experimento:
    """Toma ``cuantas`` conexiones a mano, las retiene y las devuelve una a una."""
    _nuevo_pool()
    with RegistradorOcupacion(intervalo=intervalo) as registro:
        time.sleep(retencion)
        prestadas = []
        try:
            for _ in range(cuantas):
                prestadas.append(Conexion.obtener_conexion_manual())
                time.sleep(retencion)
        finally:
            for conexion in prestadas:
                Conexion.liberar_conexion(conexion)
                time.sleep(retencion)
    return Experimento("getconn/putconn (manual)", registro)


def experimento_agotamiento(retencion: float = 0.05, intervalo: float = 0.01) -> Experimento:
    """Pide ``MAX_CON + 1`` conexiones sin devolver ninguna; al final las devuelve todas."""
    _nuevo_pool()
    errores: list[str] = []
    with RegistradorOcupacion(intervalo=intervalo) as registro:
        time.sleep(retencion)
        prestadas = []
        try:
            for _ in range(Conexion.MAX_CON + 1):
                prestadas.append(Conexion.obtener_conexion_manual())
                time.sleep(retencion)
        except PoolTimeout as exc:
            errores.append(f"{type(exc).__name__}: {exc}")
        finally:
            time.sleep(retencion)
            for conexion in prestadas:
                Conexion.liberar_conexion(conexion)
            time.sleep(retencion)
    return Experimento("agotamiento", registro, errores)


def los_tres(intervalo: float = 0.01) -> list[Experimento]:
    """Los tres experimentos en orden; deja el pool cerrado al final."""
    try:
        return [
            experimento_with(intervalo=intervalo),
            experimento_manual(intervalo=intervalo),
            experimento_agotamiento(intervalo=intervalo),
        ]
    finally:
        Conexion.cerrar_conexiones()


def tabla_resumen(experimentos: list[Experimento]) -> pd.DataFrame:
    """Una fila por experimento: máximo en uso, máximo esperando, errores y duración."""
    filas = []
    for exp in experimentos:
        r = exp.resumen()
        filas.append(
            {
                "experimento": exp.nombre,
                "máx. en uso": r.max_en_uso,
                "máx. esperando": r.max_esperando,
                "errores": len(exp.errores),
                "duración (s)": round(r.duracion_s, 1),
            }
        )
    return pd.DataFrame(filas).set_index("experimento")
