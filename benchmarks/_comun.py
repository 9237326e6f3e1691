"""Lo que comparten las medidas: rutas, entorno de los procesos hijos y servidores embebidos temporales.

Cada medida corre en un proceso aparte: ``medir.py`` se vuelve a lanzar con una
opción interna (``--_operaciones``, ``--_arranque``, ``--_cuadernos``) y el hijo
deja su resultado en un JSON (``--_salida``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RAIZ = Path(__file__).resolve().parent.parent
if str(RAIZ) not in sys.path:  # por si el paquete no está instalado en el entorno
    sys.path.insert(0, str(RAIZ))

from capa_datos_persona.servidor import VARIABLES_LIBPQ  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "medir.py"
"""El punto de entrada: los procesos hijos son este mismo script con una opción interna."""

VARIABLES_EXTERNO = ("DATABASE_URL", *VARIABLES_LIBPQ)
"""Variables que hacen que el paquete use un servidor externo en lugar del embebido."""

CONSULTA = "SELECT 1"


def progreso(mensaje: str) -> None:
    """Mensaje de progreso por la salida de errores (la estándar es solo para las tablas)."""
    print(f"[medir] {mensaje}", file=sys.stderr, flush=True)


def entorno_embebido(carpeta: Path) -> dict[str, str]:
    """El entorno de un proceso que debe usar el PostgreSQL embebido en ``carpeta``."""
    entorno = {k: v for k, v in os.environ.items() if k not in VARIABLES_EXTERNO}
    entorno["CAPA_DATOS_DIR"] = str(carpeta)
    entorno["PYTHONPATH"] = os.pathsep.join(filter(None, [str(RAIZ), os.environ.get("PYTHONPATH", "")]))
    return entorno


def entorno_externo() -> dict[str, str]:
    """El entorno de un proceso que debe usar el servidor externo (``DATABASE_URL`` o ``PG*``)."""
    entorno = dict(os.environ)
    entorno.pop("CAPA_DATOS_DIR", None)
    return entorno


def borrar_embebido(carpeta: Path) -> None:
    """Detiene el servidor embebido de ``carpeta`` (si sigue en marcha) y borra la carpeta."""
    if carpeta.exists():
        subprocess.run(
            [sys.executable, "-m", "capa_datos_persona", "detener"],
            env=entorno_embebido(carpeta),
            cwd=RAIZ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    shutil.rmtree(carpeta, ignore_errors=True)


@contextmanager
def carpeta_embebido() -> Iterator[Path]:
    """Una carpeta temporal para un servidor embebido; al salir se detiene el servidor y se borra."""
    carpeta = Path(tempfile.mkdtemp(prefix="capa_medir_"))
    try:
        yield carpeta
    finally:
        borrar_embebido(carpeta)


def orden_hijo(argumentos: list[str], salida: Path) -> list[str]:
    """La orden que lanza un proceso de medida que escribe su resultado en ``salida``."""
    return [sys.executable, str(SCRIPT), *argumentos, "--_salida", str(salida)]


def ultimas_lineas(texto: str, n: int = 3) -> str:
    """Las últimas líneas de la salida de un proceso que falló, en una sola línea."""
    return " | ".join(texto.strip().splitlines()[-n:])


def leer_resultado(ruta: Path) -> dict[str, Any]:
    return json.loads(ruta.read_text(encoding="utf-8"))


def escribir_resultado(ruta: Path, resultado: dict[str, Any]) -> None:
    ruta.write_text(json.dumps(resultado), encoding="utf-8")


def ejecutar_hijo(argumentos: list[str], entorno: dict[str, str], limite_s: float) -> dict[str, Any]:
    """Ejecuta un proceso de medida y devuelve el JSON que escribe."""
    with tempfile.TemporaryDirectory(prefix="capa_medir_json_") as carpeta:
        ruta = Path(carpeta) / "resultado.json"
        proceso = subprocess.run(
            orden_hijo(argumentos, ruta),
            env=entorno,
            cwd=RAIZ,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=limite_s,
            check=False,
        )
        if proceso.returncode != 0 or not ruta.exists():
            raise RuntimeError(
                f"el proceso de medida terminó con código {proceso.returncode}: "
                + ultimas_lineas(proceso.stderr or proceso.stdout or "")
            )
        return leer_resultado(ruta)


def intentar_hijo(
    argumentos: list[str], entorno: dict[str, str], limite_s: float, notas: list[str], aviso: str
) -> dict[str, Any] | None:
    """Como :func:`ejecutar_hijo`, pero si falla anota «aviso (error).» en ``notas`` y devuelve ``None``."""
    try:
        return ejecutar_hijo(argumentos, entorno, limite_s)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        notas.append(f"{aviso} ({exc}).")
        return None
