"""Ensayo de Google Colab: los cuadernos en un entorno como el de Colab, sin Colab.

Colab ejecuta los cuadernos como **root**, con su propio Python y sus versiones de
pandas, matplotlib, IPython, ipykernel... (IPython 7.34, no 8 ni 9), y sin el
repositorio alrededor: solo el ``.ipynb``. La primera celda de código de cada
cuaderno instala allí el paquete del curso (``herramientas/colab.py`` la escribe).
Este script lo ensaya:

1. crea un entorno virtual temporal con el Python de Colab y, con pip, las
   versiones que Colab trae instaladas (``herramientas/colab_restricciones.txt``),
   más ``nbval`` para comparar las salidas;
2. le añade un paquete ``google.colab`` de mentira que el kernel importa al
   arrancar, como en Colab: la primera celda toma el camino de Colab;
3. copia los cuadernos (solo los ``.ipynb``) a una carpeta fuera del repositorio
   y los ejecuta con nbval estricto y ``tests/sanitize.cfg``. El paquete del curso
   NO está instalado: lo instala la primera celda del primer cuaderno, sin
   ``-e``, desde una copia de los archivos del repositorio (la variable
   ``CAPA_DATOS_FUENTE``; en Colab, GitHub);
4. comprueba que esa instalación no cambió ninguna versión de Colab, detiene el
   PostgreSQL embebido y borra todo lo que creó.

Uso (como root)::

    python herramientas/ensayo_colab.py ensayar --python /root/.pyenv/versions/3.13.0/bin/python3.13
    python herramientas/ensayo_colab.py pines pip-freeze.txt --origen "..." > herramientas/colab_restricciones.txt

``pines`` escribe las restricciones a partir del ``pip-freeze.txt`` que publica
Google en https://github.com/googlecolab/backend-info (elige los paquetes de
``NOMBRES``). Diferencias con Colab de verdad: el Python es el de esta máquina
(mismo X.Y, otro parche), los paquetes llegan de PyPI y no de la imagen de Colab,
solo están los paquetes de ``NOMBRES`` (Colab trae más de 600) y el kernel lo
arranca nbval, no el servidor de Colab.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
RESTRICCIONES = RAIZ / "herramientas" / "colab_restricciones.txt"
# Los paquetes que Colab trae instalados y que importan aquí: los que usa el curso, el
# kernel (IPython, ipykernel, jupyter_client...) y lo que ellos piden. psycopg2 viene en
# Colab compilado del código fuente; el curso instala además psycopg2-binary.
NOMBRES = (
    "attrs backcall contourpy cycler debugpy decorator entrypoints fastjsonschema fonttools "
    "iniconfig ipykernel ipython ipython-genutils jsonschema jsonschema-specifications "
    "jupyter-client jupyter-core kiwisolver matplotlib matplotlib-inline nbclient nbformat "
    "nest-asyncio numpy packaging pandas parso pexpect pickleshare pillow platformdirs pluggy "
    "prompt-toolkit psutil psycopg2 ptyprocess pygments pyparsing pytest python-dateutil pytz "
    "pyzmq referencing rpds-py six tornado traitlets typing-extensions tzdata wcwidth"
).split()
# Lo que se instala además, solo para el ensayo (Colab no lo trae).
PARA_EL_ENSAYO = ["nbval==0.11.0"]
# Los paquetes del cuaderno con la línea que los resume.
CLAVE = ("pandas", "numpy", "matplotlib", "ipython", "ipykernel", "jupyter-client", "tornado")
PLAZO_PIP = 900  # s: instalar el entorno base (la primera vez descarga unos 150 MB)


def _normal(nombre: str) -> str:
    return re.sub(r"[-_.]+", "-", nombre).lower()


def pines(freeze: str) -> list[str]:
    """``nombre==versión`` de los paquetes de ``NOMBRES`` en un ``pip freeze`` de Colab."""
    buscados = set(NOMBRES)
    encontrados = {}
    for linea in freeze.splitlines():
        if "==" in linea and not linea.startswith("#"):
            nombre, version = linea.strip().split("==", 1)
            if _normal(nombre) in buscados:
                encontrados[_normal(nombre)] = f"{nombre}=={version}"
    faltan = buscados - encontrados.keys()
    if faltan:
        raise SystemExit(f"No están en el pip freeze de Colab: {', '.join(sorted(faltan))}")
    return [encontrados[n] for n in sorted(encontrados)]


def leer_restricciones(ruta: Path = RESTRICCIONES) -> tuple[str, dict[str, str]]:
    """(versión X.Y de Python, {nombre normalizado: versión}) del archivo de restricciones."""
    texto = ruta.read_text(encoding="utf-8")
    python = re.search(r"^# Python (\d+\.\d+)", texto, re.M)
    if not python:
        raise SystemExit(f"{ruta}: falta la línea «# Python X.Y»")
    versiones = {}
    for linea in texto.splitlines():
        if "==" in linea and not linea.startswith("#"):
            nombre, version = linea.strip().split("==", 1)
            versiones[_normal(nombre)] = version
    return python.group(1), versiones


def _instaladas(python: Path) -> dict[str, str]:
    r = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
                       capture_output=True, text=True, check=True)
    return {_normal(n): v for n, v in (linea.split("==", 1) for linea in r.stdout.split() if "==" in linea)}


def _copiar_fuente(destino: Path) -> None:
    """Los archivos del repositorio (los de git, también los cambiados y los nuevos), sin .venv ni datos."""
    r = subprocess.run(["git", "-C", str(RAIZ), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, check=True)
    for relativa in r.stdout.decode().split("\0"):
        origen = RAIZ / relativa
        if relativa and origen.is_file():
            (destino / relativa).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origen, destino / relativa)


def _sin_comparar(carpeta: Path) -> int:
    """Celdas de código cuya salida nbval no compara (marcas NBVAL_IGNORE_OUTPUT / NBVAL_SKIP o sus etiquetas)."""
    import json

    total = 0
    for cuaderno in carpeta.glob("*.ipynb"):
        for celda in json.loads(cuaderno.read_text(encoding="utf-8"))["cells"]:
            texto = "".join(celda["source"]) + " ".join(celda.get("metadata", {}).get("tags", []))
            if celda["cell_type"] == "code" and re.search(r"NBVAL_(IGNORE_OUTPUT|SKIP)|nbval-(ignore-output|skip)", texto):
                total += 1
    return total


# La versión de google.colab de mentira: existe y se importa al arrancar el kernel.
STUB_COLAB = '''"""google.colab de mentira (herramientas/ensayo_colab.py): en Colab este paquete existe
y el kernel lo importa al arrancar; la primera celda de los cuadernos mira si está importado."""
'''
ARRANQUE_IPYTHON = "import google.colab  # como el kernel de Colab (ensayo de herramientas/ensayo_colab.py)\n"
# Una línea de ``pytest -v``: nbval nombra cada celda ``cuadernos/01_preparacion::ipynb::Cell 3``.
RESULTADO = re.compile(r"^(?P<cuaderno>\S+?)(?:::|\.)ipynb::(?P<celda>Cell \d+) (?P<res>PASSED|FAILED|SKIPPED|ERROR)")


def ensayar(python_base: str, carpeta: Path | None) -> int:
    version_py, pines_colab = leer_restricciones()
    r = subprocess.run([python_base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                       capture_output=True, text=True, check=True)
    if r.stdout.strip() != version_py:
        raise SystemExit(f"{python_base} es Python {r.stdout.strip()}, pero Colab usa {version_py} "
                         f"({RESTRICCIONES.name})")
    if os.geteuid() != 0:
        raise SystemExit("El ensayo se ejecuta como root, como Colab.")
    inicio = time.monotonic()
    if carpeta is None:
        carpeta = Path(tempfile.mkdtemp(prefix="capa_colab_"))
    else:
        carpeta.mkdir(parents=True, exist_ok=True)
    # Como root, PostgreSQL corre como el usuario pgserver: tiene que llegar a sus
    # programas (en el entorno) y a la carpeta de datos.
    carpeta.chmod(0o755)
    entorno, datos = carpeta / "venv", carpeta / "datos"
    python = entorno / "bin" / "python"
    entorno_kernel = {k: v for k, v in os.environ.items()
                      if not (k == "DATABASE_URL" or k.startswith("PG") or k.startswith("CAPA_") or k == "VIRTUAL_ENV")}
    entorno_kernel.update({
        "CAPA_DATOS_DIR": str(datos),
        "CAPA_DATOS_FUENTE": (carpeta / "fuente").as_uri(),
        "IPYTHONDIR": str(carpeta / "ipython"),
        "PATH": f"{entorno / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    proceso: subprocess.Popen[str] | None = None
    try:
        print(f"Entorno como el de Colab: Python {version_py} y {len(pines_colab)} paquetes de "
              f"{RESTRICCIONES.relative_to(RAIZ)}", flush=True)
        subprocess.run([python_base, "-m", "venv", str(entorno)], check=True)
        r = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(RESTRICCIONES),
                            *PARA_EL_ENSAYO, "-c", str(RESTRICCIONES)],
                           capture_output=True, text=True, timeout=PLAZO_PIP, env=entorno_kernel)
        if r.returncode:
            print(r.stdout + r.stderr, file=sys.stderr)
            return 2
        sitio = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
        (Path(sitio) / "google" / "colab").mkdir(parents=True)
        (Path(sitio) / "google" / "colab" / "__init__.py").write_text(STUB_COLAB, encoding="utf-8")
        arranque = carpeta / "ipython" / "profile_default" / "startup"
        arranque.mkdir(parents=True)
        (arranque / "00-colab.py").write_text(ARRANQUE_IPYTHON, encoding="utf-8")
        antes = _instaladas(python)
        print("Versiones: " + ", ".join(f"{n} {antes.get(n, '?')}" for n in CLAVE)
              + f" (entorno listo en {time.monotonic() - inicio:.0f} s)", flush=True)

        (carpeta / "fuente").mkdir()
        _copiar_fuente(carpeta / "fuente")
        cuadernos = carpeta / "cuadernos"
        cuadernos.mkdir()
        for cuaderno in sorted((RAIZ / "notebooks").glob("[0-9]*.ipynb")):
            shutil.copy2(cuaderno, cuadernos / cuaderno.name)
        shutil.copy2(RAIZ / "tests" / "sanitize.cfg", carpeta / "sanitize.cfg")

        inicio_cuadernos = time.monotonic()
        proceso = subprocess.Popen(
            [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-v", "-o", "console_output_style=classic",
             "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "sanitize.cfg", "cuadernos"],
            cwd=carpeta, env=entorno_kernel, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        resultados: dict[str, str] = {}
        salida = []
        assert proceso.stdout is not None
        for linea in proceso.stdout:
            salida.append(linea)
            encontrado = RESULTADO.match(linea)
            if encontrado:
                resultados[f"{Path(encontrado['cuaderno']).name}.ipynb::{encontrado['celda']}"] = encontrado["res"]
        codigo = proceso.wait()
        coinciden = [c for c, res in resultados.items() if res == "PASSED"]
        resto = [f"{c} {res}" for c, res in resultados.items() if res != "PASSED"]
        if codigo or resto:
            print("".join(salida[-400:]))
        print(f"Cuadernos ejecutados en {time.monotonic() - inicio_cuadernos:.0f} s")
        print(f"{len(coinciden)} de {len(resultados)} celdas coinciden estrictamente "
              f"(nbval estricto con tests/sanitize.cfg; {_sin_comparar(cuadernos)} de ellas con "
              "NBVAL_IGNORE_OUTPUT o NBVAL_SKIP: se ejecutan sin comparar su salida)")
        for linea in resto:
            print(f"  no coincide: {linea}")

        despues = _instaladas(python)
        cambiadas = [f"{n} {antes[n]} -> {despues.get(n, 'desinstalado')}" for n in pines_colab
                     if n in antes and despues.get(n) != antes[n]]
        nuevas = sorted(set(despues) - set(antes))
        print("La primera celda instaló: " + ", ".join(f"{n} {despues[n]}" for n in nuevas))
        if "capa-datos-persona" not in nuevas:
            print("ERROR: la primera celda no instaló el paquete del curso")
            codigo = codigo or 1
        if cambiadas:
            print("ERROR: instalar el curso cambió versiones de Colab: " + "; ".join(cambiadas))
            codigo = codigo or 1
        print(f"Ensayo de Colab: {time.monotonic() - inicio:.0f} s en total")
        return codigo or (1 if resto or not resultados else 0)
    finally:
        if proceso is not None and proceso.poll() is None:  # cortado a medias (SIGTERM): pytest también
            proceso.terminate()
            try:
                proceso.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proceso.kill()
        if python.exists():  # nbval termina los kernels sin dejarles despedirse
            subprocess.run([str(python), "-m", "capa_datos_persona", "detener"], env=entorno_kernel,
                           capture_output=True, timeout=120)
        shutil.rmtree(carpeta, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ensayo de Google Colab: los cuadernos con las versiones de Colab.")
    sub = parser.add_subparsers(dest="orden", required=True)
    p_pines = sub.add_parser("pines", help="escribe las restricciones a partir del pip-freeze.txt de Colab")
    p_pines.add_argument("freeze", type=Path, help="pip-freeze.txt de github.com/googlecolab/backend-info")
    p_pines.add_argument("--python", required=True, help="X.Y del Python de Colab (su os-info.txt)")
    p_pines.add_argument("--origen", required=True, help="de dónde y de qué fecha es el pip-freeze.txt")
    p_ensayar = sub.add_parser("ensayar", help="ejecuta los cuadernos en un entorno como el de Colab")
    p_ensayar.add_argument("--python", required=True, help="un Python de la versión X.Y de Colab")
    p_ensayar.add_argument("--carpeta", type=Path, help="carpeta de trabajo (se borra al terminar)")
    args = parser.parse_args(argv)

    if args.orden == "pines":
        print("# Versiones que trae Google Colab (generado con herramientas/ensayo_colab.py pines).")
        print(f"# Origen: {args.origen}")
        print(f"# Python {args.python}")
        print("\n".join(pines(args.freeze.read_text(encoding="utf-8"))))
        return 0
    # Un SIGTERM (o cerrar la terminal) también borra la carpeta y detiene el servidor.
    for senal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(senal, lambda numero, _marco: sys.exit(128 + numero))
    return ensayar(args.python, args.carpeta)


if __name__ == "__main__":
    sys.exit(main())
