"""El primer ``make lab`` en un clon recién hecho: antes (pip, todo junto) y ahora (uv, lo del alumno).

Mide, en clones nuevos dentro de una carpeta temporal, lo que tarda
``python tareas.py lab --no-browser`` desde que se lanza hasta que JupyterLab
responde (``/api/status``): crear ``.venv/``, instalar y arrancar. Es lo que espera un
alumno la primera vez. Se compara:

* **antes**: un commit (por defecto ``4ee41d2``, cuando ``make lab`` instalaba con pip
  requirements.txt entero, con pytest, nbval y playwright);
* **ahora**: el árbol de trabajo tal como está (un clon con los cambios sin confirmar
  copiados encima), o el commit que se indique con ``--ahora``.

Cada medida empieza sin caché: cachés de pip y de uv nuevas y vacías (carpetas
temporales), así que todo se descarga, como en el primer ``make lab`` de un equipo
nuevo. La configuración de Jupyter y los datos también van a carpetas temporales.
JupyterLab se cierra en orden (SIGTERM a tareas.py, como con ``kill``) y al final se
borra todo. Solo Linux y macOS. Es una medida, no una prueba: no falla por lento.

Una diferencia que no se ve en el tiempo: pip compila a bytecode (``.pyc``) todo lo que
instala; uv no, y Python compila cada módulo la primera vez que lo importa (medido aquí:
el primer kernel tarda alrededor de 1 s más en importar pandas, matplotlib e ipykernel,
una sola vez).

    python3 benchmarks/instalacion.py                      # una vez cada uno
    python3 benchmarks/instalacion.py --repeticiones 3     # alternando antes/ahora; medianas
    python3 benchmarks/instalacion.py --antes 4ee41d2 --ahora HEAD

Solo usa la biblioteca estándar: se ejecuta con el Python del sistema (el que se usa
para ``make lab``; otro con ``--python``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
ANTES = "4ee41d2"  # main antes del issue 13: pip e instalación única
OBJETIVO = 3.0  # «al menos 3 veces más rápido»
LIMITE_S = 900  # una instalación atascada no deja el script colgado


def progreso(mensaje: str) -> None:
    print(f"[instalacion] {mensaje}", file=sys.stderr, flush=True)


def _git(*argumentos: str, cwd: Path = RAIZ) -> str:
    return subprocess.run(["git", *argumentos], cwd=cwd, check=True, capture_output=True, text=True).stdout


def clonar(destino: Path, commit: str | None) -> str:
    """Un clon de este repositorio en ``destino``: el ``commit`` dado, o el árbol de trabajo tal como está."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(RAIZ), str(destino)], check=True)
    if commit is not None:
        _git("checkout", "--quiet", "--detach", commit, cwd=destino)
        return _git("rev-parse", "--short", "HEAD", cwd=destino).strip()
    # El árbol de trabajo: lo que git ve (confirmado o no, sin lo ignorado), copiado encima.
    _git("checkout", "--quiet", "--detach", _git("rev-parse", "HEAD").strip(), cwd=destino)
    rutas = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for ruta in filter(None, rutas):
        origen, copia = RAIZ / ruta, destino / ruta
        if origen.is_file():
            copia.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origen, copia)
        elif copia.exists() and not origen.exists():  # borrado en el árbol de trabajo
            copia.unlink()
    return _git("rev-parse", "--short", "HEAD").strip() + " + árbol de trabajo"


def _puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _responde(puerto: int, token: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{puerto}/api/status?token={token}", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def tamano(carpeta: Path) -> int:
    """Bytes de ``carpeta`` (cada archivo enlazado varias veces cuenta una)."""
    vistos, total = set(), 0
    for base, _, archivos in os.walk(carpeta):
        for nombre in archivos:
            estado = os.lstat(os.path.join(base, nombre))
            if (estado.st_dev, estado.st_ino) not in vistos:
                vistos.add((estado.st_dev, estado.st_ino))
                total += estado.st_size
    return total


def primer_lab(clon: Path, python: str, temporal: Path) -> tuple[float, int]:
    """Segundos del primer ``tareas.py lab`` hasta que JupyterLab responde, y tamaño de .venv/ (bytes)."""
    shutil.rmtree(clon / ".venv", ignore_errors=True)
    for nombre in ("cache-pip", "cache-uv", "jupyter"):
        shutil.rmtree(temporal / nombre, ignore_errors=True)
    entorno = {k: v for k, v in os.environ.items() if k not in ("CAPA_VENV", "VIRTUAL_ENV", "PYTHONPATH")}
    entorno.update({
        "PIP_CACHE_DIR": str(temporal / "cache-pip"),
        "UV_CACHE_DIR": str(temporal / "cache-uv"),
        "JUPYTER_CONFIG_DIR": str(temporal / "jupyter" / "config"),
        "JUPYTER_DATA_DIR": str(temporal / "jupyter" / "data"),
        "JUPYTER_RUNTIME_DIR": str(temporal / "jupyter" / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(temporal / "jupyter" / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(temporal / "jupyter" / "workspaces"),
        "CAPA_DATOS_DIR": str(temporal / "datos"),
    })
    puerto, token = _puerto_libre(), secrets.token_hex(16)
    registro = temporal / "registro.txt"
    orden = [python, "tareas.py", "lab", "--no-browser", f"--port={puerto}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}"]
    with registro.open("wb") as salida:
        inicio = time.monotonic()
        proceso = subprocess.Popen(orden, cwd=clon, env=entorno, stdin=subprocess.DEVNULL,
                                   stdout=salida, stderr=subprocess.STDOUT)
    try:
        while not _responde(puerto, token):
            if proceso.poll() is not None or time.monotonic() - inicio > LIMITE_S:
                raise RuntimeError(f"JupyterLab no llegó a responder:\n{registro.read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)
        segundos = time.monotonic() - inicio
    finally:
        if proceso.poll() is None:
            proceso.send_signal(signal.SIGTERM)  # tareas.py cierra JupyterLab en orden
            try:
                proceso.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proceso.kill()
                proceso.wait()
    return segundos, tamano(clon / ".venv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--antes", default=ANTES, help=f"commit de «antes» (por defecto {ANTES})")
    parser.add_argument("--ahora", default=None, help="commit de «ahora» (por defecto, el árbol de trabajo)")
    parser.add_argument("--python", default=sys.executable, help="el Python que lanza tareas.py (como en make lab)")
    parser.add_argument("--repeticiones", type=int, default=1, help="medidas de cada uno, alternadas")
    args = parser.parse_args(argv)
    if os.name == "nt":
        print("Este script solo funciona en Linux y macOS.", file=sys.stderr)
        return 2

    temporal = Path(tempfile.mkdtemp(prefix="capa_instalacion_"))
    try:
        clones = {}
        for nombre, commit in (("antes", args.antes), ("ahora", args.ahora)):
            progreso(f"clonando «{nombre}» ...")
            clones[nombre] = (temporal / nombre, clonar(temporal / nombre, commit))
        tiempos: dict[str, list[float]] = {"antes": [], "ahora": []}
        tamanos: dict[str, int] = {}
        for vuelta in range(args.repeticiones):
            for nombre in ("antes", "ahora"):
                progreso(f"vuelta {vuelta + 1}/{args.repeticiones}: primer make lab de «{nombre}» ...")
                segundos, tamanos[nombre] = primer_lab(clones[nombre][0], args.python, temporal)
                tiempos[nombre].append(segundos)
                progreso(f"  {segundos:.1f} s")
    finally:
        shutil.rmtree(temporal, ignore_errors=True)

    antes, ahora = statistics.median(tiempos["antes"]), statistics.median(tiempos["ahora"])
    razon = antes / ahora
    version = subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip()
    medidas = "una medida" if args.repeticiones == 1 else f"mediana de {args.repeticiones} medidas"
    print(f"Primer `make lab` en un clon nuevo, sin caché, hasta que JupyterLab responde ({version}; "
          f"{medidas} de cada uno):\n")
    print("| | versión | tiempo | .venv/ |")
    print("| --- | --- | ---: | ---: |")
    for nombre in ("antes", "ahora"):
        todos = ", ".join(f"{t:.1f}" for t in tiempos[nombre])
        print(f"| {nombre} | {clones[nombre][1]} | {statistics.median(tiempos[nombre]):.1f} s ({todos}) "
              f"| {tamanos[nombre] / 1e6:.0f} MB |")
    print(f"\nAntes / ahora: {razon:.1f}× más rápido (objetivo: al menos {OBJETIVO:g}×: "
          f"{'se cumple' if razon >= OBJETIVO else 'NO se cumple'}).")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Interrumpido (la carpeta temporal se ha borrado).", file=sys.stderr)
        sys.exit(130)
