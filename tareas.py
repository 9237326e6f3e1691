"""Tareas del curso sin depender de ``make`` (sirve igual en Windows).

    python tareas.py preparar   crea .venv con requirements.txt (solo si hace falta)
    python tareas.py lab        abre JupyterLab en notebooks/ (Ctrl-C lo cierra)
    python tareas.py test       pasa todas las pruebas (código y cuadernos)
    python tareas.py cuadernos  vuelve a ejecutar los cuadernos y los guarda con sus salidas
    python tareas.py estado     qué servidor PostgreSQL usa el curso y cómo está
    python tareas.py detener    detiene el PostgreSQL embebido (los datos se conservan)

Los argumentos que sigan se pasan a JupyterLab, a pytest o a la orden, por ejemplo
``python tareas.py test -k conexion`` o ``python tareas.py lab --no-browser``.
En Windows, ``py tareas.py ...``. Solo usa la biblioteca estándar: se ejecuta con
el Python del sistema.
"""

# Este archivo tiene que poder LEERSE con Pythons viejos (3.6 en adelante) para que
# el aviso de versión llegue a mostrarse: nada de ``from __future__ import annotations``,
# ``:=``, ``match`` ni parámetros ``/``. Las anotaciones modernas (``list[str]``,
# ``X | None``) no molestan: solo se evalúan al definir las funciones, y eso ocurre
# después de la comprobación.
import sys

# El Python más viejo con el que se instalan las versiones fijadas de requirements.txt
# (pandas 3.1 y matplotlib 3.11 piden 3.11). Es el único sitio donde está este número.
PYTHON_MINIMO = (3, 11)
# El que se propone instalar a quien tenga uno más viejo.
PYTHON_RECOMENDADO = (3, 12)


def comprobar_python() -> None:
    """Sale con código 2 y un aviso de dos líneas si este Python es demasiado viejo."""
    if tuple(sys.version_info[:2]) >= PYTHON_MINIMO:
        return
    actual = ".".join(str(parte) for parte in sys.version_info[:3])
    minimo = "%d.%d" % PYTHON_MINIMO
    nuevo = "%d.%d" % PYTHON_RECOMENDADO
    orden = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "lab"
    # A stderr: en Python viejos con la consola en ASCII, stdout fallaría con los acentos.
    sys.stderr.write(
        "Este curso necesita Python %s o más nuevo, y este es Python %s (%s).\n"
        "Instala Python %s (Windows: python.org, y luego `py -%s tareas.py %s`; "
        "macOS: `brew install python@%s` o python.org) y úsalo: `make %s PYTHON=python%s`.\n"
        % (minimo, actual, sys.executable or "python", nuevo, nuevo, orden, nuevo, orden, nuevo)
    )
    sys.exit(2)


comprobar_python()

import hashlib  # noqa: E402  (después de comprobar la versión, a propósito)
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

RAIZ = Path(__file__).resolve().parent
VENV = Path(os.environ.get("CAPA_VENV", RAIZ / ".venv"))
SELLO = VENV / ".capa_instalado"
ES_WINDOWS = os.name == "nt"
ORDENES = ("preparar", "lab", "test", "cuadernos", "estado", "detener")

# Tras Ctrl-C, lo que se espera a que JupyterLab apague sus kernels y se cierre solo
# (cada kernel tiene 5 s para despedirse; en Windows la señal tarda hasta 5 s en atenderse).
PLAZO_CIERRE = 30.0
# Lo que tareas.py atiende mientras espera a una orden: Ctrl-C, ``kill``, cerrar la
# terminal y Ctrl-\ (en Windows: Ctrl-C y Ctrl-Pausa).
SENALES = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGBREAK") if hasattr(signal, n))


def decir(texto: str) -> None:
    """Imprime una línea sin fallar si la terminal ya no existe (se cerró la ventana)."""
    try:
        print(texto, flush=True)
    except (OSError, ValueError):
        pass


def python_venv() -> Path:
    return VENV / ("Scripts/python.exe" if ES_WINDOWS else "bin/python")


# --- Ejecutar una orden sin traceback ante Ctrl-C y sin dejar procesos huérfanos -----


class Orden:
    """Un proceso hijo al que tareas.py espera pase lo que pase.

    * Ctrl-C en una terminal (o en la consola de Windows) llega a la vez a tareas.py
      y a la orden, que se interrumpe sola (pytest muestra su resumen); tareas.py no
      se lo repite, porque un segundo Ctrl-C cortaría la limpieza de pytest.
    * ``kill`` (SIGTERM) o cerrar la terminal (SIGHUP) se reenvían a la orden.
    * Con ``cierre`` (JupyterLab en Linux y macOS) la orden va en su propio grupo de
      procesos, así que Ctrl-C solo llega a tareas.py, y cualquiera de esas señales se
      traduce en ``cierre`` (SIGTERM: el cierre ordenado de Jupyter, que apaga los kernels).
    * Con ``plazo``, si la orden no termina en ese tiempo tras la señal, se mata;
      sin él, se la espera lo que tarde (Ctrl-C otra vez le llega directamente).
    """

    def __init__(self, argumentos: list[str], *, cwd: Path | None = None,
                 cierre: int | None = None, plazo: float | None = None) -> None:
        self.argumentos = argumentos
        self.cwd = cwd
        self.cierre = cierre
        self.plazo = plazo
        self.proceso: subprocess.Popen | None = None
        self.senal: int | None = None  # la primera señal recibida
        self.forzada = False  # se mató por no terminar a tiempo
        self._atendida = False  # ya se reenvió la señal (una sola vez)

    def _al_recibir(self, numero: int, _marco: object) -> None:
        if self.senal is not None:
            return  # ya se está cerrando: las siguientes señales no cambian nada
        self.senal = numero
        if self.proceso is not None:
            self._reenviar()

    def _reenviar(self) -> None:
        assert self.proceso is not None and self.senal is not None
        if self._atendida:
            return
        self._atendida = True
        if ES_WINDOWS:
            reenviar = None  # la consola ya entregó Ctrl-C / Ctrl-Pausa a todos sus procesos
        elif self.cierre is not None:
            reenviar = self.cierre
        elif self.senal in (signal.SIGTERM, signal.SIGHUP):
            reenviar = self.senal
        else:
            reenviar = None  # Ctrl-C, Ctrl-\: la terminal se lo mandó también a la orden
        if reenviar is not None:
            try:
                self.proceso.send_signal(reenviar)
            except OSError:
                pass  # acaba de terminar
        if self.plazo is not None:
            temporizador = threading.Timer(self.plazo, self._forzar)
            temporizador.daemon = True
            temporizador.start()

    def _forzar(self) -> None:
        proceso = self.proceso
        if proceso is None or proceso.poll() is not None:
            return
        self.forzada = True
        try:
            if self.cierre is not None and not ES_WINDOWS:
                os.killpg(proceso.pid, signal.SIGKILL)  # su grupo: el servidor y lo que lanzó en él
            else:
                proceso.kill()
        except OSError:
            pass

    def ejecutar(self) -> int:
        """Lanza la orden, la espera y devuelve su código (128 + señal si se interrumpió)."""
        anteriores = {numero: signal.signal(numero, self._al_recibir) for numero in SENALES}
        try:
            opciones: dict = {}
            if self.cierre is not None and not ES_WINDOWS:
                opciones["process_group"] = 0
            self.proceso = subprocess.Popen(self.argumentos, cwd=self.cwd, **opciones)
            if self.senal is not None:  # llegó mientras se lanzaba
                self._reenviar()
            while True:
                try:
                    # En Windows una espera sin plazo no deja a Python atender Ctrl-C.
                    codigo = self.proceso.wait(timeout=0.5 if ES_WINDOWS else None)
                    break
                except subprocess.TimeoutExpired:
                    continue
        finally:
            for numero, anterior in anteriores.items():
                signal.signal(numero, anterior)
        if self.senal is not None:
            return 128 + self.senal
        return 128 - codigo if codigo < 0 else codigo  # muerta por una señal: como en la shell


def ejecutar(argumentos: list[str], cwd: Path | None = None, interrumpida: str = "Orden interrumpida.") -> int:
    orden = Orden(argumentos, cwd=cwd)
    codigo = orden.ejecutar()
    if orden.senal is not None:
        decir(interrumpida)
    return codigo


# --- El entorno virtual ----------------------------------------------------------------


def _huella() -> str:
    datos = b"".join((RAIZ / nombre).read_bytes() for nombre in ("requirements.txt", "pyproject.toml"))
    return hashlib.sha256(datos + sys.version.encode()).hexdigest()


def comprobar_venv() -> None:
    """Sale con código 2 si este Python no puede crear entornos virtuales con pip."""
    import importlib.util

    falta = next((m for m in ("venv", "ensurepip") if importlib.util.find_spec(m) is None), None)
    if falta is None:
        return
    version = "%d.%d" % sys.version_info[:2]
    sys.stderr.write(
        f"Este Python ({sys.executable}) no trae el módulo {falta}: no puede crear el entorno {VENV.name}/.\n"
        f"En Debian/Ubuntu instala `sudo apt install python3-venv` (o `python{version}-venv`) y repite la orden.\n"
    )
    sys.exit(2)


def preparar() -> Path:
    """Crea o actualiza el entorno virtual si requirements.txt cambió."""
    python = python_venv()
    if python.exists() and SELLO.exists() and SELLO.read_text() == _huella():
        return python
    if not python.exists():
        comprobar_venv()
        import venv

        decir(f"Creando el entorno virtual en {VENV.name}/ ...")
        nuevo = not VENV.exists()
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except BaseException as error:
            if nuevo:  # a medias no sirve: la próxima vez se empieza de cero
                shutil.rmtree(VENV, ignore_errors=True)
            if isinstance(error, subprocess.CalledProcessError):
                sys.stderr.write(f"No se pudo crear el entorno virtual en {VENV}: falló {' '.join(map(str, error.cmd))}.\n")
                sys.exit(1)
            raise
    decir("Instalando las versiones fijadas de requirements.txt (la primera vez tarda 1-2 minutos) ...")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    for argumentos in ([*pip, "install", "--quiet", "-r", str(RAIZ / "requirements.txt")],
                       [*pip, "install", "--quiet", "--no-deps", "-e", str(RAIZ)]):
        instalacion = Orden(argumentos)
        codigo = instalacion.ejecutar()
        if instalacion.senal is not None:
            decir("Instalación interrumpida: la próxima orden la terminará.")
            sys.exit(codigo)
        if codigo:
            sys.stderr.write(f"La instalación falló (código {codigo}). Revisa el mensaje de pip; "
                             f"si no se arregla, borra {VENV.name}/ y repite la orden.\n")
            sys.exit(codigo)
    SELLO.write_text(_huella())
    return python


# --- JupyterLab ------------------------------------------------------------------------

# En Windows no hay SIGTERM que atender: Ctrl-C llega a JupyterLab como KeyboardInterrupt,
# que para el servidor sin apagar los kernels (mueren después sin hacer su limpieza y el
# PostgreSQL embebido sigue en marcha). Este arranque hace que Ctrl-C pida el mismo
# cierre ordenado que SIGTERM en Linux y macOS. Se ejecuta con el Python de .venv.
ARRANQUE_LAB_WINDOWS = """\
import signal, sys
from jupyter_server.serverapp import ServerApp
from jupyterlab.labapp import main

def cerrar(numero, marco):
    app = ServerApp.instance() if ServerApp.initialized() else None
    if app is None or getattr(app, "io_loop", None) is None:
        raise KeyboardInterrupt  # todavía arrancando
    if not getattr(app, "_stopping", False):
        app.stop(from_signal=True)

signal.signal(signal.SIGINT, cerrar)
if hasattr(signal, "SIGBREAK"):
    signal.signal(signal.SIGBREAK, cerrar)  # Ctrl-Pausa
sys.argv[0] = "jupyter-lab"
sys.exit(main())
"""


def orden_lab(python: str, resto: list[str], windows: bool = ES_WINDOWS) -> list[str]:
    carpeta = ["--notebook-dir", str(RAIZ / "notebooks")]
    if windows:
        return [python, "-c", ARRANQUE_LAB_WINDOWS, *carpeta, *resto]
    # Como root (un contenedor Docker, Colab, CI) JupyterLab se niega a arrancar sin --allow-root.
    if os.geteuid() == 0 and "--allow-root" not in resto:
        carpeta.append("--allow-root")
    return [python, "-m", "jupyter", "lab", *carpeta, *resto]


def lab(python: str, resto: list[str]) -> int:
    orden = Orden(orden_lab(python, resto), cierre=None if ES_WINDOWS else signal.SIGTERM, plazo=PLAZO_CIERRE)
    codigo = orden.ejecutar()
    if orden.forzada:
        decir(f"JupyterLab no se cerró en {PLAZO_CIERRE:g} s y se ha detenido a la fuerza.")
    elif orden.senal is not None:
        decir("JupyterLab cerrado.")
    return codigo


# --- Órdenes ---------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "ayuda"):
        print(__doc__)
        return 0
    if not argv or argv[0] not in ORDENES:
        print(__doc__)
        return 2
    orden, resto = argv[0], argv[1:]
    if orden == "detener":
        # Sin instalar nada: solo hay que parar el servidor (y en Windows pip no podría
        # sustituir los programas de PostgreSQL mientras está en marcha).
        if not python_venv().exists():
            decir(f"No hay entorno {VENV.name}/: no hay ningún PostgreSQL embebido del curso que detener.")
            return 0
        python = str(python_venv())
    else:
        python = str(preparar())
    if orden == "preparar":
        return 0
    if orden == "lab":
        return lab(python, resto)
    if orden == "cuadernos":
        return ejecutar([python, str(RAIZ / "herramientas" / "cuadernos.py"), *resto], cwd=RAIZ,
                        interrumpida="Ejecución de los cuadernos interrumpida.")
    if orden in ("estado", "detener"):
        return ejecutar([python, "-m", "capa_datos_persona", orden, *resto], cwd=RAIZ)
    return ejecutar([python, "-m", "pytest", *resto], cwd=RAIZ, interrumpida="Pruebas interrumpidas.")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C fuera de una orden (por ejemplo, creando .venv/)
        decir("Interrumpido.")
        sys.exit(130)
    except BrokenPipeError:  # la salida iba a `head` o similar, que ya terminó
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
