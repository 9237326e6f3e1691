"""Tareas del curso sin depender de ``make`` (sirve igual en Windows).

    python tareas.py preparar   crea .venv con requirements.txt (solo si hace falta)
    python tareas.py lab        abre JupyterLab (en español) en notebooks/ (Ctrl-C lo cierra)
    python tareas.py test       añade las herramientas de prueba y pasa todas las pruebas
    python tareas.py cuadernos  vuelve a ejecutar los cuadernos y los guarda con sus salidas
    python tareas.py estado     qué servidor PostgreSQL usa el curso y cómo está
    python tareas.py detener    detiene el PostgreSQL embebido (los datos se conservan)
    python tareas.py libro      construye el curso como sitio web en _build/libro/html/ (sin ejecutar)

Los argumentos que sigan se pasan a JupyterLab, a pytest o a la orden, por ejemplo
``python tareas.py test -k conexion`` o ``python tareas.py lab --no-browser``.
``lab`` (y ``preparar``, ``estado``) instala requirements.txt, lo que necesita un alumno;
``test`` y ``cuadernos``, requirements-pruebas.txt (requirements.txt más pytest, nbval, playwright y Jupyter Book);
``libro``, requirements.txt y requirements-libro.txt (Jupyter Book 1).
Instala con uv si puede (más rápido; ver benchmarks/instalacion.py) y, si no, con pip.
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
ES_WINDOWS = os.name == "nt"
ORDENES = ("preparar", "lab", "test", "cuadernos", "estado", "detener", "libro")
# Lo que instala un alumno (`lab`, `preparar`, `estado`) y lo que añaden las pruebas, que
# incluye lo anterior. Cada conjunto tiene su sello en .venv: la segunda vez no se instala nada.
REQUISITOS_LAB = "requirements.txt"
REQUISITOS_PRUEBAS = "requirements-pruebas.txt"
# El sitio web (`libro`): Jupyter Book 1, encima de requirements.txt (requirements-pruebas.txt lo incluye).
REQUISITOS_LIBRO = "requirements-libro.txt"
ORDENES_PRUEBAS = ("test", "cuadernos")
# uv instala las mismas versiones fijadas que pip más deprisa. Es una rueda de
# PyPI: se instala en .venv con pip y, si no se puede tener o falla, se instala todo con pip.
UV = "uv==0.13.9"
# Los ajustes de JupyterLab del curso (español, sin la ventana de noticias). Un solo archivo:
# tareas.py lo copia en .venv y binder/postBuild en la imagen de Binder.
AJUSTES_JUPYTERLAB = RAIZ / "binder" / "overrides.json"

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


def archivos_requisitos(archivo: Path) -> list[Path]:
    """``archivo`` y los que incluye con ``-r`` / ``-c``: si cambia cualquiera, se vuelve a instalar."""
    archivos = [archivo]
    for linea in archivo.read_text(encoding="utf-8").splitlines():
        partes = linea.split("#", 1)[0].split()
        if len(partes) == 2 and partes[0] in ("-r", "--requirement", "-c", "--constraint"):
            for incluido in archivos_requisitos(archivo.parent / partes[1]):
                if incluido not in archivos:
                    archivos.append(incluido)
    return archivos


def _huella(requisitos: str) -> str:
    archivos = [*archivos_requisitos(RAIZ / requisitos), RAIZ / "pyproject.toml"]
    datos = b"".join(ruta.name.encode() + b"\0" + ruta.read_bytes() for ruta in archivos)
    return hashlib.sha256(datos + sys.version.encode()).hexdigest()


def _sello(requisitos: str) -> Path:
    """El archivo de .venv que dice con qué versión de ``requisitos`` se instaló."""
    return VENV / (".capa_instalado-" + Path(requisitos).stem)


def escribir_ajustes_jupyterlab(prefijo: Path | None = None) -> Path:
    """Copia los ajustes del curso en los de JupyterLab del entorno (``overrides.json``).

    Son los valores por defecto de ese JupyterLab (``<prefijo>/share/jupyter/lab/settings``,
    donde los busca): español y sin preguntar por noticias. Lo que el alumno elija en
    *Settings* sigue mandando. Solo se escribe si cambió, y solo dentro del entorno del curso.
    """
    destino = (prefijo or VENV) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    contenido = AJUSTES_JUPYTERLAB.read_bytes()
    if not destino.exists() or destino.read_bytes() != contenido:
        destino.parent.mkdir(parents=True, exist_ok=True)
        destino.write_bytes(contenido)
    return destino


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


def preparar(requisitos: str = REQUISITOS_LAB) -> Path:
    """Crea o actualiza el entorno virtual si ``requisitos`` (o lo que incluye) cambió."""
    python = python_venv()
    sello = _sello(requisitos)
    if python.exists() and sello.exists() and sello.read_text() == _huella(requisitos):
        escribir_ajustes_jupyterlab()
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
    decir(f"Instalando las versiones fijadas de {requisitos} (la primera vez tarda un poco) ...")
    instalador = Instalador(python)
    for argumentos in (["-r", str(RAIZ / requisitos)], ["--no-deps", "-e", str(RAIZ)]):
        instalador.instalar(argumentos)
    escribir_ajustes_jupyterlab()
    (VENV / ".capa_instalado").unlink(missing_ok=True)  # el sello de versiones anteriores de tareas.py
    # Lo instalado incluye otros conjuntos (requirements-pruebas.txt incluye requirements.txt):
    # también quedan al día.
    instalados = set(archivos_requisitos(RAIZ / requisitos))
    for otros in (REQUISITOS_LAB, REQUISITOS_PRUEBAS, REQUISITOS_LIBRO):
        if otros == requisitos or set(archivos_requisitos(RAIZ / otros)) <= instalados:
            _sello(otros).write_text(_huella(otros))
    return python


class Instalador:
    """Instala en .venv con uv si se puede y, si no, con pip (las mismas órdenes, el mismo resultado).

    uv se instala con pip dentro de .venv (una rueda de PyPI) la primera vez que hace falta. Si
    no se puede instalar, o falla al instalar, se dice en una línea y se sigue con pip. La caché
    de uv es la suya de siempre (por usuario). En Windows copia los archivos en lugar de
    enlazarlos: con .venv dentro de OneDrive los enlaces duros fallan (error 396); en Linux y
    macOS enlazar es mucho más rápido que copiar (en Linux, con la caché llena, unos 1,5 s
    frente a 15 s).
    """

    def __init__(self, python: Path) -> None:
        self.python = str(python)
        self.con_uv: bool | None = None  # None: aún no se ha intentado tener uv

    def _ejecutar(self, argumentos: list[str]) -> int:
        """Ejecuta una orden de instalación; ante Ctrl-C (o kill) sale de tareas.py."""
        instalacion = Orden(argumentos)
        codigo = instalacion.ejecutar()
        if instalacion.senal is not None:
            decir("Instalación interrumpida: la próxima orden la terminará.")
            sys.exit(codigo)
        return codigo

    def _pip(self, *argumentos: str) -> list[str]:
        return [self.python, "-m", "pip", "--disable-pip-version-check", *argumentos]

    def _uv(self, argumentos: list[str]) -> list[str]:
        enlace = ["--link-mode", "copy"] if ES_WINDOWS else []
        # --system-certs: los certificados del sistema, como pip; sin él, uv solo confía en los
        # suyos y falla tras el proxy de una universidad o una empresa (UnknownIssuer).
        return [self.python, "-m", "uv", "pip", "install", "--quiet", "--system-certs", "--python", self.python,
                *enlace, *argumentos]

    def _sin_uv(self) -> None:
        self.con_uv = False
        decir("No se pudo usar uv (el instalador rápido): se instala con pip, que tarda más.")

    def instalar(self, argumentos: list[str]) -> None:
        """``pip install ARGUMENTOS`` con uv o con pip; si falla, sale con su código."""
        if self.con_uv is None:
            self.con_uv = self._ejecutar(self._pip("install", "--quiet", UV)) == 0
            if not self.con_uv:
                self._sin_uv()
        if self.con_uv:
            if self._ejecutar(self._uv(argumentos)) == 0:
                return
            self._sin_uv()
        codigo = self._ejecutar(self._pip("install", "--quiet", *argumentos))
        if codigo:
            sys.stderr.write(f"La instalación falló (código {codigo}). Revisa el mensaje de pip; "
                             f"si no se arregla, borra {VENV.name}/ y repite la orden.\n")
            sys.exit(codigo)


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


# --- El sitio web ---------------------------------------------------------------------


def libro(resto: list[str]) -> int:
    """Construye el sitio en _build/libro/html/ con las salidas guardadas (herramientas/libro.py).

    Instala antes, si falta, Jupyter Book (requirements-libro.txt) encima de requirements.txt:
    sus versiones fijadas (ipykernel, nbformat...) mandan también sobre lo que pide Jupyter Book.
    """
    preparar(REQUISITOS_LAB)
    python = str(preparar(REQUISITOS_LIBRO))
    return ejecutar([python, str(RAIZ / "herramientas" / "libro.py"), *resto], cwd=RAIZ,
                    interrumpida="Construcción del sitio interrumpida.")


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
        python = str(preparar(REQUISITOS_PRUEBAS if orden in ORDENES_PRUEBAS else REQUISITOS_LAB))
    if orden == "preparar":
        return 0
    if orden == "libro":
        return libro(resto)
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
