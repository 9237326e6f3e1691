"""La máquina en la que se mide: CPU, memoria, sistema, versiones y carga media."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path


def _valor(ruta: str, clave: str, separador: str) -> str | None:
    """El valor de la primera línea ``clave<separador>valor`` de un archivo de texto del sistema."""
    try:
        for linea in Path(ruta).read_text().splitlines():
            if linea.lower().startswith(clave.lower()) and separador in linea:
                return linea.split(separador, 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu() -> str:
    return _valor("/proc/cpuinfo", "model name", ":") or platform.processor() or platform.machine()


def _sistema() -> str:
    nombre = _valor("/etc/os-release", "PRETTY_NAME=", "=")
    if nombre is None:
        return platform.platform()
    return f"{nombre.strip(chr(34))} ({platform.system()} {platform.release()})"


def carga_media() -> str | None:
    """La carga media del sistema (1, 5, 15 min), si el sistema la da."""
    if not hasattr(os, "getloadavg"):
        return None
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def describir_maquina() -> list[tuple[str, str]]:
    """Filas «Máquina» de la primera tabla; la carga media es la de este momento (antes de medir)."""
    import psutil
    import psycopg
    import psycopg_pool

    fisicos = psutil.cpu_count(logical=False)
    logicos = psutil.cpu_count(logical=True)
    libpq = psycopg.pq.version()
    filas = [
        ("CPU", _cpu()),
        ("Núcleos", f"{logicos} lógicos" + (f" ({fisicos} físicos)" if fisicos else "")),
        ("RAM", f"{psutil.virtual_memory().total / 1024**3:.1f} GiB"),
        ("Sistema", _sistema()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("psycopg", f"{psycopg.__version__} (libpq {libpq // 10000}.{libpq % 100}, "
                    f"implementación {psycopg.pq.__impl__})"),
        ("psycopg_pool", psycopg_pool.__version__),
    ]
    carga = carga_media()
    if carga:
        filas.append(("Carga media al empezar (1, 5, 15 min)", carga))
    filas.append(("Fecha", datetime.now().strftime("%Y-%m-%d %H:%M")))
    return filas
