"""Ensayo de Binder: el entorno base de repo2docker + nuestro binder/requirements.txt, sin Docker.

mybinder.org construye la imagen con repo2docker: crea un entorno conda con un
Python (el de ``binder/runtime.txt``; sin él, 3.10) y unos paquetes fijados en su
archivo de bloqueo (``environment.py-X.Y-linux-64.lock``: jupyterlab, notebook,
jupyter_server, ipykernel, jupyterhub...) y **encima** instala
``binder/requirements.txt`` con pip. Si nuestras versiones chocan con las suyas
(p. ej. su ``notebook`` 7.4 pide ``jupyterlab<4.5`` y nosotros fijamos 4.6.6), la
imagen queda con paquetes incompatibles.

Este script lee ese archivo de bloqueo de la rueda de ``jupyter-repo2docker`` (la
versión de ``REPO2DOCKER``, de PyPI) y lo traduce a versiones fijas de pip:

    python herramientas/ensayo_binder.py pines > base.txt     # para instalarlas a mano
    python herramientas/ensayo_binder.py ensayar --python /ruta/a/python3.12
    python herramientas/ensayo_binder.py herramientas-de-prueba > pruebas.txt
    python herramientas/ensayo_binder.py ajustes             # con el Python de la imagen

``ensayar`` crea un entorno virtual temporal con ese Python, instala el entorno base,
luego ``binder/requirements.txt`` y ejecuta ``pip check``; termina con código 1 si
``pip check`` encuentra algo (y borra el entorno temporal al terminar).

Binder instala solo lo del alumno (``binder/requirements.txt`` remite a
``requirements.txt``), sin pytest ni nbval. Para pasar los cuadernos en el ensayo,
``herramientas-de-prueba`` escribe las versiones fijadas de esas herramientas (las
líneas propias de ``requirements-pruebas.txt``), que se instalan aparte, después de
``pip check``. ``ajustes``, ejecutado con el Python de la imagen tras ``postBuild``,
comprueba que JupyterLab quedó en español: ``binder/overrides.json`` donde JupyterLab
lo lee, leído por ``jupyterlab_server`` y con el paquete de idioma ``es_ES`` instalado
(código 1 si no).

El Python debe ser el de ``binder/runtime.txt`` (se comprueba). Diferencias con
Binder de verdad: los paquetes del entorno base llegan aquí de PyPI y no de
conda-forge (mismas versiones), y el Python es el del sistema que lo ejecuta
(mismo X.Y, otro parche).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
# La versión de repo2docker cuyo entorno base se ensaya. mybinder.org usa una
# reciente: súbela cuando salga otra y vuelve a ensayar.
REPO2DOCKER = "2026.4.0"
CARPETA_CONDA = "repo2docker/buildpacks/conda"

# Nombres de conda-forge que no coinciden con los de PyPI.
RENOMBRES = {
    "brotli-python": "brotli",
    "cached_property": "cached-property",
    "jupyterhub-base": "jupyterhub",
    "nbconvert-core": "nbconvert",
    "python-fastjsonschema": "fastjsonschema",
}
# Paquetes "py*" de conda que no son un paquete de PyPI (el propio intérprete).
NO_PYPI = {"cpython", "python"}


def version_python_binder(raiz: Path = RAIZ) -> str:
    """La versión X.Y de ``binder/runtime.txt`` (``python-3.12`` → ``3.12``)."""
    ruta = raiz / "binder" / "runtime.txt"
    if not ruta.exists():
        raise SystemExit(f"No existe {ruta}: repo2docker usaría su Python por defecto (3.10).")
    texto = ruta.read_text(encoding="utf-8").strip()
    encontrada = re.fullmatch(r"python-(\d+)\.(\d+)(?:\.\d+)?", texto)
    if not encontrada:
        raise SystemExit(f"{ruta}: se esperaba algo como 'python-3.12' y pone {texto!r}")
    return f"{encontrada.group(1)}.{encontrada.group(2)}"


def paquetes_del_bloqueo(texto: str) -> list[tuple[str, str]]:
    """(nombre conda, versión) de los paquetes de Python de un archivo ``.lock`` explícito de conda.

    Cada línea es una URL ``.../nombre-versión-build.conda#hash``; los paquetes de Python
    tienen un *build* que empieza por ``py`` (``pyhd8ed1ab_0``, ``py312h...``); el resto son
    bibliotecas de C o metapaquetes.
    """
    paquetes = []
    for linea in texto.splitlines():
        linea = linea.strip()
        if not linea or linea.startswith(("#", "@")):
            continue
        archivo = linea.split("#", 1)[0].rsplit("/", 1)[-1]
        archivo = re.sub(r"\.(conda|tar\.bz2)$", "", archivo)
        nombre, version, build = archivo.rsplit("-", 2)
        if build.startswith("py") and nombre not in NO_PYPI:
            paquetes.append((nombre, version))
    return paquetes


def _normal(nombre: str) -> str:
    return re.sub(r"[-_.]+", "-", nombre).lower()


def pines(paquetes: list[tuple[str, str]]) -> list[str]:
    return sorted({f"{RENOMBRES.get(n, n)}=={v}" for n, v in paquetes}, key=_normal)


def _pip(python: str, *argumentos: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *argumentos],
                          capture_output=True, text=True)


def leer_repo2docker(version_py: str, carpeta: Path, version_r2d: str = REPO2DOCKER) -> tuple[str, str]:
    """Descarga la rueda de repo2docker y devuelve (archivo de bloqueo, versión por defecto de Python)."""
    r = _pip(sys.executable, "download", "--quiet", "--no-deps", "--only-binary", ":all:",
             f"jupyter-repo2docker=={version_r2d}", "-d", str(carpeta))
    if r.returncode:
        print(r.stdout + r.stderr, file=sys.stderr)
        raise SystemExit(2)
    (rueda,) = carpeta.glob("jupyter_repo2docker-*.whl")
    with zipfile.ZipFile(rueda) as z:
        soportadas = z.read(f"{CARPETA_CONDA}/supported_python_version.py").decode()
        if f'"{version_py}"' not in soportadas:
            raise SystemExit(f"repo2docker {version_r2d} no admite Python {version_py} ({soportadas.strip()})")
        por_defecto = re.search(r'major_pythons = \{[^}]*"3": "([\d.]+)"',
                                z.read(f"{CARPETA_CONDA}/__init__.py").decode())
        bloqueo = z.read(f"{CARPETA_CONDA}/environment.py-{version_py}-linux-64.lock").decode()
    return bloqueo, por_defecto.group(1) if por_defecto else "?"


def herramientas_de_prueba(raiz: Path = RAIZ) -> list[str]:
    """Las líneas propias de ``requirements-pruebas.txt`` (sin sus ``-r``): pytest, nbval...

    No incluye lo del alumno (ya instalado) ni Jupyter Book, que el ensayo no usa.
    """
    lineas = []
    for linea in (raiz / "requirements-pruebas.txt").read_text(encoding="utf-8").splitlines():
        linea = linea.split("#", 1)[0].strip()
        if linea and not linea.startswith("-"):
            lineas.append(linea)
    return lineas


def comprobar_ajustes(raiz: Path = RAIZ) -> list[str]:
    """Qué falta para que el JupyterLab de ESTE Python salga en español (lista vacía: nada).

    Se ejecuta con el Python de la imagen (el de Binder), después de ``binder/postBuild``.
    """
    from jupyterlab.commands import get_app_dir
    from jupyterlab_server.settings_utils import _get_overrides
    from jupyterlab_server.translation_utils import get_language_packs

    esperados = json.loads((raiz / "binder" / "overrides.json").read_text(encoding="utf-8"))
    carpeta = Path(get_app_dir()) / "settings"
    problemas = []
    if not (carpeta / "overrides.json").exists():
        problemas.append(f"no hay {carpeta / 'overrides.json'} (¿se ejecutó binder/postBuild?)")
    leidos, error = _get_overrides(str(carpeta))
    if error or any(leidos.get(clave) != valor for clave, valor in esperados.items()):
        problemas.append(f"JupyterLab lee en {carpeta} otros ajustes: {leidos} {error}".strip())
    locale = esperados["@jupyterlab/translation-extension:plugin"]["locale"]
    if locale not in get_language_packs()[0]:
        problemas.append(f"no está instalado el paquete de idioma {locale} (requirements.txt)")
    return problemas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ensayo de Binder con el entorno base de repo2docker.")
    sub = parser.add_subparsers(dest="orden", required=True)
    sub.add_parser("pines", help="escribe en la salida las versiones del entorno base, para pip")
    ensayar = sub.add_parser("ensayar", help="entorno temporal: base + binder/requirements.txt + pip check")
    ensayar.add_argument("--python", required=True, help="el Python de binder/runtime.txt")
    sub.add_parser("herramientas-de-prueba", help="escribe las versiones de pytest, nbval... (no van en Binder)")
    sub.add_parser("ajustes", help="con el Python de la imagen: ¿JupyterLab quedó en español?")
    parser.add_argument("--repo2docker", default=REPO2DOCKER, help="versión de jupyter-repo2docker")
    args = parser.parse_args(argv)

    if args.orden == "herramientas-de-prueba":
        print("# Herramientas de las pruebas (requirements-pruebas.txt), aparte de lo que instala Binder")
        print("\n".join(herramientas_de_prueba()))
        return 0
    if args.orden == "ajustes":
        problemas = comprobar_ajustes()
        for problema in problemas:
            print(f"ERROR: {problema}", file=sys.stderr)
        if not problemas:
            print("JupyterLab de la imagen: en español y sin la ventana de noticias (binder/overrides.json).")
        return 1 if problemas else 0

    version_py = version_python_binder()
    with tempfile.TemporaryDirectory(prefix="ensayo_binder_") as tmp:
        bloqueo, por_defecto = leer_repo2docker(version_py, Path(tmp), args.repo2docker)
        lista = pines(paquetes_del_bloqueo(bloqueo))
        clave = [p for p in lista if _normal(p.split("==")[0]) in
                 ("jupyterlab", "notebook", "jupyter-server", "ipykernel", "jupyterhub", "pip")]
        print(f"repo2docker {args.repo2docker}: Python {version_py} (binder/runtime.txt; sin él, {por_defecto}); "
              f"entorno base de {len(lista)} paquetes, entre ellos {', '.join(clave)}", file=sys.stderr)
        if args.orden == "pines":
            print(f"# Entorno base de repo2docker {args.repo2docker} para Python {version_py} "
                  f"(environment.py-{version_py}-linux-64.lock)")
            print("\n".join(lista))
            return 0

        r = subprocess.run([args.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True, check=True)
        if r.stdout.strip() != version_py:
            raise SystemExit(f"{args.python} es Python {r.stdout.strip()}, pero binder/runtime.txt pide {version_py}")
        entorno = Path(tmp) / "venv"
        subprocess.run([args.python, "-m", "venv", str(entorno)], check=True)
        python = str(entorno / "bin" / "python")
        base = Path(tmp) / "base.txt"
        base.write_text("\n".join(lista) + "\n", encoding="utf-8")
        for paso, argumentos in (("entorno base de repo2docker", ("install", "--quiet", "-r", str(base))),
                                 ("binder/requirements.txt",
                                  ("install", "--quiet", "-r", str(RAIZ / "binder" / "requirements.txt")))):
            print(f"Instalando {paso}...", file=sys.stderr, flush=True)
            r = _pip(python, *argumentos)
            if r.returncode:
                print(r.stdout + r.stderr, file=sys.stderr)
                return 2
        r = _pip(python, "check")
        print(r.stdout.strip() or r.stderr.strip())
        r2 = _pip(python, "list", "--format=freeze")
        versiones = {_normal(n): v for n, v in (linea.split("==", 1) for linea in r2.stdout.split() if "==" in linea)}
        print("Tras instalar: " + ", ".join(f"{n} {versiones.get(_normal(n), '?')}" for n in
              ("jupyterlab", "notebook", "jupyter_server", "ipykernel", "jupyterhub", "jupyter-resource-usage")))
        return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
