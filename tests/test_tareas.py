"""Pruebas de tareas.py: la versión de Python, y Ctrl-C / kill / cerrar la terminal.

Las de señales (marcadas ``slow``) lanzan ``tareas.py lab`` de verdad con el .venv ya
preparado, arrancan un kernel y comprueban que, al interrumpir, JupyterLab apaga el
kernel en orden (el kernel llega a ejecutar sus funciones ``atexit``, que es lo que
necesita el PostgreSQL embebido para detenerse) y que no queda ningún proceso vivo.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from _comun import cargar_modulo, puerto_libre

RAIZ = Path(__file__).resolve().parent.parent
TAREAS = RAIZ / "tareas.py"


tareas = cargar_modulo(TAREAS, "tareas")
MINIMO = "%d.%d" % tareas.PYTHON_MINIMO

solo_posix = pytest.mark.skipif(
    sys.platform == "win32", reason="en Windows Ctrl-C llega por la consola, no con señales POSIX"
)


def _tareas_como_main(preambulo: str, *argumentos: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Ejecuta tareas.py como ``__main__`` en un Python nuevo, tras ``preambulo``."""
    codigo = (
        f"{preambulo}\n"
        "import runpy, sys\n"
        f"sys.argv = {['tareas.py', *argumentos]!r}\n"
        f"runpy.run_path({str(TAREAS)!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", codigo], capture_output=True, text=True, env=env, cwd=RAIZ, timeout=60
    )


# --- Versión de Python y entorno virtual ------------------------------------------------


def test_python_demasiado_viejo_sale_con_2_y_un_aviso_en_espanol(tmp_path: Path) -> None:
    # Se simula un Python 3.9 cambiando solo sys.version_info antes de ejecutar tareas.py
    # entero como __main__: corre el mismo código que vería un Python 3.9 de verdad (la
    # prueba siguiente lo hace con los Pythons viejos que haya en la máquina). CAPA_VENV
    # apunta a una carpeta que no debe llegar a crearse.
    venv = tmp_path / "venv"
    resultado = _tareas_como_main(
        "import sys; sys.version_info = (3, 9, 6, 'final', 0)",
        "lab",
        env={**os.environ, "CAPA_VENV": str(venv)},
    )
    salida = resultado.stdout + resultado.stderr
    assert resultado.returncode == 2, salida
    assert "Traceback" not in salida
    lineas = resultado.stderr.strip().splitlines()
    assert len(lineas) == 2, salida
    assert f"necesita Python {MINIMO} o más nuevo" in lineas[0]
    assert "3.9.6" in lineas[0]
    assert "python.org" in lineas[1] and "py -" in lineas[1] and "brew install" in lineas[1]
    assert not venv.exists()


def _pythons_viejos() -> list[str]:
    """Pythons 3 anteriores al mínimo que haya en el PATH o en pyenv."""
    candidatos = [shutil.which(f"python3.{menor}") for menor in range(6, tareas.PYTHON_MINIMO[1])]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidatos += sorted(str(p) for p in pyenv.glob("3.*/bin/python3"))
    encontrados = []
    for ruta in filter(None, candidatos):
        try:
            version = subprocess.run(
                [ruta, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                capture_output=True, text=True, timeout=30,
            )
        except OSError:
            continue
        partes = tuple(int(p) for p in version.stdout.split()) if version.returncode == 0 else ()
        if len(partes) == 2 and (3, 6) <= partes < tareas.PYTHON_MINIMO and ruta not in encontrados:
            encontrados.append(ruta)
    return encontrados


def test_pythons_viejos_de_verdad_leen_el_archivo_y_dan_el_aviso(tmp_path: Path) -> None:
    viejos = _pythons_viejos()
    if not viejos:
        pytest.skip("no hay ningún Python 3.6-3.10 en esta máquina para probarlo")
    for python in viejos:
        resultado = subprocess.run(
            [python, str(TAREAS), "test"], capture_output=True, text=True, timeout=60,
            env={**os.environ, "CAPA_VENV": str(tmp_path / "venv")},
        )
        salida = resultado.stdout + resultado.stderr
        assert resultado.returncode == 2, f"{python}: {salida}"
        assert "Traceback" not in salida and "SyntaxError" not in salida, f"{python}: {salida}"
        assert f"necesita Python {MINIMO}" in resultado.stderr, f"{python}: {salida}"
    assert not (tmp_path / "venv").exists()


def test_python_sin_ensurepip_pide_python3_venv(tmp_path: Path) -> None:
    # sys.modules["ensurepip"] = None hace que ensurepip no se pueda importar, como en un
    # Debian/Ubuntu sin el paquete python3-venv (allí el módulo no está en disco).
    venv = tmp_path / "venv"
    resultado = _tareas_como_main(
        "import sys; sys.modules['ensurepip'] = None",
        "preparar",
        env={**os.environ, "CAPA_VENV": str(venv)},
    )
    salida = resultado.stdout + resultado.stderr
    assert resultado.returncode == 2, salida
    assert "Traceback" not in salida
    assert "apt install python3-venv" in resultado.stderr
    assert not venv.exists()


def test_sin_orden_muestra_el_uso_con_todas_las_ordenes() -> None:
    resultado = subprocess.run([sys.executable, str(TAREAS)], capture_output=True, text=True, timeout=60)
    assert resultado.returncode == 2
    for orden in tareas.ORDENES:
        assert f"tareas.py {orden}" in resultado.stdout


def test_make_estado_y_detener_pasan_por_tareas_py() -> None:
    if shutil.which("make") is None:
        pytest.skip("no hay make en esta máquina")
    # Sin las variables de un `make` que nos lance (`make test ARGS=...`): si no, escribe
    # «make[1]: Entering...» y hereda su ARGS.
    entorno = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    resultado = subprocess.run(
        ["make", "-n", "estado", "detener", "PYTHON=python", "ARGS="], capture_output=True, text=True, cwd=RAIZ, timeout=60,
        env=entorno,
    )
    assert resultado.returncode == 0, resultado.stderr
    assert resultado.stdout.split("\n")[:2] == ["python tareas.py estado ", "python tareas.py detener "]


def test_detener_sin_entorno_no_instala_nada(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    resultado = subprocess.run(
        [sys.executable, str(TAREAS), "detener"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "CAPA_VENV": str(venv)},
    )
    assert resultado.returncode == 0, resultado.stderr
    assert "no hay ningún PostgreSQL embebido" in resultado.stdout
    assert not venv.exists()


# --- Señales: tareas.py lab ---------------------------------------------------------------


@pytest.fixture
def procesos() -> Iterator[list[psutil.Process]]:
    """Los procesos que lanza cada prueba; al terminar, pase lo que pase, ninguno sigue vivo."""
    lanzados: list[psutil.Process] = []
    yield lanzados
    vivos = [p for p in lanzados if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # Y sus hijos: si la prueba falló antes de anotarlos, matar solo a tareas.py dejaría
    # huérfanos a JupyterLab (va en su propio grupo de procesos) y a sus kernels.
    for proceso in list(vivos):
        try:
            vivos += [hijo for hijo in proceso.children(recursive=True) if hijo not in vivos]
        except psutil.NoSuchProcess:
            pass
    for proceso in vivos:
        try:
            proceso.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(vivos, timeout=10)
    assert not vivos, f"quedaban procesos vivos: {vivos}"


def _entorno(tmp_path: Path) -> dict[str, str]:
    # Ficheros de Jupyter y datos del curso en carpetas temporales: nada del alumno se toca.
    return {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "CAPA_DATOS_DIR": str(tmp_path / "datos"),
    }


def _opciones_lab(puerto: int, token: str) -> list[str]:
    opciones = ["--no-browser", f"--port={puerto}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opciones.append("--allow-root")  # en la CI se ejecuta como root
    return opciones


def _pedir(puerto: int, token: str, ruta: str, datos: dict | None = None) -> dict:
    peticion = urllib.request.Request(
        f"http://127.0.0.1:{puerto}{ruta}",
        data=None if datos is None else json.dumps(datos).encode(),
        method="GET" if datos is None else "POST",
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(peticion, timeout=5) as respuesta:
        return json.load(respuesta)


def _esperar_servidor(proceso: subprocess.Popen, puerto: int, token: str, salida: Path) -> None:
    limite = time.monotonic() + 90
    while time.monotonic() < limite:
        if proceso.poll() is not None:
            pytest.fail(f"JupyterLab terminó al arrancar ({proceso.returncode}):\n{salida.read_text()}")
        try:
            _pedir(puerto, token, "/api/status")
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab no respondió en 90 s:\n{salida.read_text()}")


def _kernel_que_deja_huella(tmp_path: Path, puerto: int, token: str, huella: Path) -> None:
    """Arranca un kernel y le hace registrar un ``atexit`` que escribe ``huella``."""
    from jupyter_client import BlockingKernelClient

    identificador = _pedir(puerto, token, "/api/kernels", {"name": "python3"})["id"]
    cliente = BlockingKernelClient(connection_file=str(tmp_path / "runtime" / f"kernel-{identificador}.json"))
    cliente.load_connection_file()
    cliente.start_channels()
    try:
        cliente.wait_for_ready(timeout=60)
        respuesta = cliente.execute_interactive(
            f"import atexit, pathlib; atexit.register(pathlib.Path({str(huella)!r}).write_text, 'adios')",
            timeout=30,
            output_hook=lambda _mensaje: None,
        )
        assert respuesta["content"]["status"] == "ok", respuesta
    finally:
        cliente.stop_channels()


def _lanzar(argumentos: list[str], tmp_path: Path, procesos: list[psutil.Process], **opciones) -> subprocess.Popen:
    salida = tmp_path / "salida.txt"
    with salida.open("wb") as fichero:
        proceso = subprocess.Popen(
            argumentos, cwd=RAIZ, env=_entorno(tmp_path), stdin=subprocess.DEVNULL,
            stdout=fichero, stderr=subprocess.STDOUT, **opciones,
        )
    procesos.append(psutil.Process(proceso.pid))
    return proceso


def _comprobar_cierre_ordenado(tmp_path: Path, descendientes: list[psutil.Process], huella: Path) -> str:
    salida = (tmp_path / "salida.txt").read_text(errors="replace")
    assert "Traceback" not in salida, salida
    _, vivos = psutil.wait_procs(descendientes, timeout=5)
    assert not vivos, f"procesos huérfanos: {vivos}\n{salida}"
    assert huella.read_text() == "adios", "el kernel no llegó a hacer su limpieza (atexit)"
    restos = sorted(p.name for p in (tmp_path / "runtime").glob("*.json"))
    assert not restos, f"JupyterLab no limpió sus ficheros: {restos}"
    return salida


@pytest.mark.slow
@solo_posix
@pytest.mark.parametrize(
    "senal", [signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_lab_se_cierra_en_orden_al_recibir_una_senal(
    senal: int, tmp_path: Path, procesos: list[psutil.Process]
) -> None:
    # La señal va solo a tareas.py (no a su grupo): es tareas.py quien tiene que pedirle
    # a JupyterLab que se cierre, esperarlo y salir sin traceback.
    puerto, token, huella = puerto_libre(), secrets.token_hex(16), tmp_path / "huella.txt"
    proceso = _lanzar([sys.executable, str(TAREAS), "lab", *_opciones_lab(puerto, token)], tmp_path, procesos)
    _esperar_servidor(proceso, puerto, token, tmp_path / "salida.txt")
    _kernel_que_deja_huella(tmp_path, puerto, token, huella)
    descendientes = procesos[0].children(recursive=True)
    procesos.extend(descendientes)
    assert any("ipykernel" in " ".join(p.cmdline()) for p in descendientes), descendientes

    os.kill(proceso.pid, senal)
    codigo = proceso.wait(timeout=tareas.PLAZO_CIERRE + 30)

    salida = _comprobar_cierre_ordenado(tmp_path, descendientes, huella)
    assert codigo == 128 + senal, salida
    assert "JupyterLab cerrado." in salida


@pytest.mark.slow
@solo_posix
def test_arranque_de_windows_convierte_ctrl_c_en_cierre_ordenado(
    tmp_path: Path, procesos: list[psutil.Process]
) -> None:
    # En Windows Ctrl-C llega a JupyterLab como SIGINT; sin nada más, Jupyter para el
    # servidor sin apagar los kernels. Aquí se ejecuta el mismo arranque que tareas.py usa
    # en Windows y se le manda SIGINT (con stdin que no es una terminal, Jupyter no
    # instala su propio manejador, igual que en Windows).
    puerto, token, huella = puerto_libre(), secrets.token_hex(16), tmp_path / "huella.txt"
    orden = tareas.orden_lab(str(tareas.python_venv()), _opciones_lab(puerto, token), windows=True)
    proceso = _lanzar(orden, tmp_path, procesos)
    _esperar_servidor(proceso, puerto, token, tmp_path / "salida.txt")
    _kernel_que_deja_huella(tmp_path, puerto, token, huella)
    descendientes = procesos[0].children(recursive=True)
    procesos.extend(descendientes)

    os.kill(proceso.pid, signal.SIGINT)
    codigo = proceso.wait(timeout=tareas.PLAZO_CIERRE)

    salida = _comprobar_cierre_ordenado(tmp_path, descendientes, huella)
    assert codigo == 0, salida


# --- Señales: tareas.py test ---------------------------------------------------------------


@pytest.mark.slow
@solo_posix
def test_ctrl_c_durante_pytest_sin_traceback_de_tareas(tmp_path: Path, procesos: list[psutil.Process]) -> None:
    # Ctrl-C en una terminal llega a todo el grupo de procesos: a tareas.py y a pytest. Se
    # imita lanzando tareas.py en un grupo propio y mandando SIGINT a ese grupo. El pytest
    # de dentro usa su propio pytest.ini: no hereda las opciones del curso (--nbval).
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    dentro = tmp_path / "dentro.txt"
    (tmp_path / "test_espera.py").write_text(
        "import pathlib, time\n\n"
        "def test_espera():\n"
        f"    pathlib.Path({str(dentro)!r}).write_text('sí')\n"
        "    time.sleep(120)\n"
    )
    orden = [sys.executable, str(TAREAS), "test", str(tmp_path / "test_espera.py"), "-p", "no:cacheprovider"]
    proceso = _lanzar(orden, tmp_path, procesos, process_group=0)
    limite = time.monotonic() + 90
    while not dentro.exists():
        assert proceso.poll() is None, (tmp_path / "salida.txt").read_text()
        assert time.monotonic() < limite, "pytest no llegó a la prueba en 90 s"
        time.sleep(0.2)
    procesos.extend(procesos[0].children(recursive=True))

    os.killpg(proceso.pid, signal.SIGINT)
    codigo = proceso.wait(timeout=60)

    salida = (tmp_path / "salida.txt").read_text(errors="replace")
    assert codigo == 130, salida
    assert "Traceback (most recent call last)" not in salida
    assert "KeyboardInterrupt" in salida  # el resumen de pytest
    assert "Pruebas interrumpidas." in salida
    _, vivos = psutil.wait_procs(procesos[1:], timeout=5)
    assert not vivos
