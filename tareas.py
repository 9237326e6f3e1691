"""Tareas del curso sin depender de ``make`` (sirve igual en Windows).

    python tareas.py preparar   crea .venv con requirements.txt (solo si hace falta)
    python tareas.py lab        abre JupyterLab en notebooks/
    python tareas.py test       pasa todas las pruebas (código y cuadernos)
    python tareas.py cuadernos  vuelve a ejecutar los cuadernos y los guarda con sus salidas

Los argumentos que sigan se pasan a JupyterLab o a pytest, por ejemplo
``python tareas.py test -k conexion`` o ``python tareas.py lab --no-browser``.
Solo usa la biblioteca estándar: se ejecuta con el Python del sistema.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

RAIZ = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CAPA_VENV", RAIZ / ".venv"))
SELLO = VENV / ".capa_instalado"


def python_venv() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _huella() -> str:
    datos = b"".join((RAIZ / nombre).read_bytes() for nombre in ("requirements.txt", "pyproject.toml"))
    return hashlib.sha256(datos + sys.version.encode()).hexdigest()


def preparar() -> Path:
    """Crea o actualiza el entorno virtual si requirements.txt cambió."""
    python = python_venv()
    if python.exists() and SELLO.exists() and SELLO.read_text() == _huella():
        return python
    if not python.exists():
        print(f"Creando el entorno virtual en {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Instalando las versiones fijadas de requirements.txt (la primera vez tarda 1-2 minutos) ...", flush=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "-r", str(RAIZ / "requirements.txt")], check=True)
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "-e", str(RAIZ)], check=True)
    SELLO.write_text(_huella())
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"preparar", "lab", "test", "cuadernos"}:
        print(__doc__)
        return 2
    orden, resto = argv[0], argv[1:]
    python = str(preparar())
    if orden == "preparar":
        return 0
    if orden == "lab":
        return subprocess.call([python, "-m", "jupyter", "lab", "--notebook-dir", str(RAIZ / "notebooks"), *resto])
    if orden == "cuadernos":
        return subprocess.call([python, str(RAIZ / "herramientas" / "cuadernos.py"), *resto], cwd=RAIZ)
    return subprocess.call([python, "-m", "pytest", *resto], cwd=RAIZ)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
