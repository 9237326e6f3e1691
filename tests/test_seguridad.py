"""Nunca dañar el equipo del alumno: borrar solo lo propio, no matar procesos ajenos, no abrir carpetas.

Cada prueba que arranca un servidor embebido propio lo hace en un proceso
aparte y en una carpeta temporal suya, y lo detiene al terminar.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capa_datos_persona import servidor

RAIZ = Path(__file__).resolve().parent.parent
SIN_SERVIDOR_PROPIO = {v: "" for v in ("DATABASE_URL", *servidor.VARIABLES_LIBPQ)}

pytestmark = pytest.mark.skipif(
    not servidor.elegir_servidor().embebido, reason="son pruebas del servidor embebido (hay un servidor propio)"
)


def _entorno(carpeta: Path, **extra: str) -> dict[str, str]:
    entorno = {**os.environ, **SIN_SERVIDOR_PROPIO, servidor.ENTORNO_DIRECTORIO: str(carpeta), **extra}
    return {k: v for k, v in entorno.items() if v != "" or k == servidor.ENTORNO_DIRECTORIO}


def _orden(carpeta: Path, *argumentos: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capa_datos_persona", *argumentos],
        capture_output=True, text=True, timeout=120, env=_entorno(carpeta, **extra), cwd=RAIZ,
        stdin=subprocess.DEVNULL,
    )


def _python(carpeta: Path, codigo: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(codigo)],
        capture_output=True, text=True, timeout=120, env=_entorno(carpeta, **extra), cwd=RAIZ,
    )


def _carpeta_temporal() -> Path:
    """Una carpeta temporal vacía en la carpeta temporal del sistema.

    No en ``tmp_path``: como root, ``/tmp/pytest-of-root`` es privada (700) y el
    usuario ``pgserver`` no podría pasar (el curso ya no abre carpetas ajenas).
    """
    return Path(tempfile.mkdtemp(prefix="capa_seguridad_"))


@pytest.fixture
def datos() -> Iterator[Path]:
    """Una carpeta de datos propia, vacía; al final, su servidor detenido y la carpeta borrada."""
    carpeta = _carpeta_temporal()
    yield carpeta
    if (carpeta / "pgdata").exists():
        _orden(carpeta, "detener")
    shutil.rmtree(carpeta, ignore_errors=True)


@pytest.fixture
def proceso_ajeno() -> Iterator[subprocess.Popen[bytes]]:
    """Un programa que no tiene nada que ver con PostgreSQL (un ``sleep``)."""
    ajeno = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield ajeno
    ajeno.kill()
    ajeno.wait()


# --- borrar-datos solo borra lo que creó el curso -----------------------------------------


def test_borrar_datos_no_toca_una_carpeta_que_no_es_del_curso(tmp_path: Path) -> None:
    documentos = tmp_path / "Documentos"
    documentos.mkdir()
    (documentos / "tesis.txt").write_text("años de trabajo")
    resultado = _orden(documentos, "borrar-datos", "--si")
    assert resultado.returncode == 1
    assert "No borro" in resultado.stderr and "solo borra lo que creó" in resultado.stderr
    assert (documentos / "tesis.txt").read_text() == "años de trabajo"


def test_borrar_datos_no_borra_la_carpeta_actual(tmp_path: Path) -> None:
    (tmp_path / "mio.txt").write_text("mío")
    resultado = subprocess.run(
        [sys.executable, "-m", "capa_datos_persona", "borrar-datos", "--si"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**_entorno(Path(".")), "PYTHONPATH": str(RAIZ)},
    )
    assert resultado.returncode == 1, resultado.stdout
    assert (tmp_path / "mio.txt").exists()


def test_borrar_datos_pregunta_y_borra_solo_la_carpeta_del_curso(datos: Path) -> None:
    assert _orden(datos, "estado").returncode == 0
    assert (datos / ".capa_datos_persona").is_file()
    sin_confirmar = _orden(datos, "borrar-datos")  # sin terminal y sin --si: no borra
    assert sin_confirmar.returncode == 2 and "--si" in sin_confirmar.stderr
    assert (datos / "pgdata" / "PG_VERSION").exists()
    resultado = _orden(datos, "borrar-datos", "--si")
    assert resultado.returncode == 0, resultado.stderr
    assert not datos.exists()
    assert datos.parent.exists()


def test_borrar_datos_pregunta_en_un_terminal(datos: Path) -> None:
    assert _orden(datos, "estado").returncode == 0
    codigo = f"""
        import os, pty, sys
        os.environ["{servidor.ENTORNO_DIRECTORIO}"] = {str(datos)!r}
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.executable, [sys.executable, "-m", "capa_datos_persona", "borrar-datos"])
        salida = b""
        while b"[s/N]" not in salida:
            salida += os.read(fd, 1024)
        os.write(fd, b"n\\n")
        try:
            while True:
                trozo = os.read(fd, 1024)
                if not trozo:
                    break
                salida += trozo
        except OSError:
            pass
        os.waitpid(pid, 0)
        print(salida.decode())
    """
    resultado = _python(datos, codigo)
    assert "¿Seguro? [s/N]" in resultado.stdout and "No se borró nada" in resultado.stdout
    assert (datos / "pgdata" / "PG_VERSION").exists()


# --- Un postmaster.pid caducado no hace que se mate a otro programa ------------------------


def _postmaster_caducado(datos: Path, pid: int) -> None:
    """Deja en ``datos`` un postmaster.pid como el de un servidor que murió, con el número ``pid``."""
    arranque = _python(datos, """
        from capa_datos_persona import servidor
        servidor.usar_servidor()
        print(open(servidor.directorio_pgdata() / "postmaster.pid").read(), end="")
    """)
    assert arranque.returncode == 0, arranque.stderr
    lineas = arranque.stdout.splitlines()[-8:]
    assert _orden(datos, "detener").returncode == 0
    lineas[0] = str(pid)
    (datos / "pgdata" / "postmaster.pid").write_text("\n".join(lineas) + "\n")


def test_postmaster_pid_de_otro_programa_no_lo_mata(datos: Path, proceso_ajeno: subprocess.Popen[bytes]) -> None:
    _postmaster_caducado(datos, proceso_ajeno.pid)
    detener = _orden(datos, "detener")
    assert detener.returncode == 0, detener.stderr
    assert "No había ningún PostgreSQL embebido en marcha" in detener.stdout
    resultado = _orden(datos, "estado")
    assert resultado.returncode == 0, resultado.stderr
    assert "postmaster.pid era de un arranque anterior" in resultado.stdout
    assert "PostgreSQL 1" in resultado.stdout  # arrancó uno nuevo y respondió
    time.sleep(0.5)
    assert proceso_ajeno.poll() is None, "el programa ajeno recibió una señal"


# --- Como root, ningún permiso cambia fuera de la carpeta de datos --------------------------


@pytest.mark.skipif(os.name == "nt" or os.geteuid() != 0, reason="solo como root (CI, Colab, Docker)")
def test_como_root_no_abre_las_carpetas_de_nadie() -> None:
    tmp_path = _carpeta_temporal()
    tmp_path.chmod(0o755)
    try:
        _comprobar_permisos_como_root(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _comprobar_permisos_como_root(tmp_path: Path) -> None:
    privada = tmp_path / "privada"
    privada.mkdir(mode=0o700)
    privada.chmod(0o750)
    datos = privada / "datos"
    antes = {p: p.stat().st_mode for p in (tmp_path, privada)}
    resultado = _orden(datos, "estado")
    assert resultado.returncode == 1
    assert "no puede entrar en" in resultado.stderr and "no cambia permisos" in resultado.stderr
    assert {p: p.stat().st_mode for p in antes} == antes

    abierta = tmp_path / "abierta"
    abierta.mkdir()
    abierta.chmod(0o755)
    datos = abierta / "datos"
    antes = {p: p.stat().st_mode for p in (tmp_path, abierta)}
    try:
        resultado = _orden(datos, "estado")
        assert resultado.returncode == 0, resultado.stderr
        assert {p: p.stat().st_mode for p in antes} == antes
    finally:
        _orden(datos, "detener")


# --- Un proceso terminado por una señal deja de contar como usuario del servidor -------------


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM y SIGHUP son de Unix")
@pytest.mark.parametrize("senal", ["SIGTERM", "SIGHUP"])
def test_un_kernel_terminado_por_senal_detiene_el_servidor(datos: Path, senal: str) -> None:
    proceso = subprocess.Popen(
        [sys.executable, "-c", "from capa_datos_persona import servidor; servidor.usar_servidor(); "
         "print('listo', flush=True); import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=_entorno(datos), cwd=RAIZ,
    )
    try:
        assert proceso.stdout is not None and proceso.stdout.readline().strip() == "listo"
        proceso.send_signal(getattr(signal, senal))
        assert proceso.wait(timeout=30) == -getattr(signal, senal)
    finally:
        proceso.kill()
    consulta = _python(datos, "from capa_datos_persona import servidor; print(servidor.embebido_en_marcha())")
    assert consulta.stdout.strip() == "False"


# --- Carpeta de datos imposible y cerrojo ocupado: mensaje claro ----------------------------


def test_carpeta_de_datos_que_es_un_archivo(tmp_path: Path) -> None:
    archivo = tmp_path / "datos.txt"
    archivo.write_text("no soy una carpeta")
    resultado = _orden(archivo, "estado")
    assert resultado.returncode == 1
    assert "No se puede escribir en la carpeta de datos" in resultado.stderr
    assert "Es un archivo" in resultado.stderr and "Traceback" not in resultado.stderr
    assert archivo.read_text() == "no soy una carpeta"


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root puede escribir en cualquier carpeta")
def test_carpeta_de_datos_de_solo_lectura(tmp_path: Path) -> None:
    clon = tmp_path / "clon"
    clon.mkdir()
    clon.chmod(0o555)
    try:
        resultado = _orden(clon / ".capa_datos", "estado")
    finally:
        clon.chmod(0o755)
    assert resultado.returncode == 1
    assert "No se puede escribir en la carpeta de datos" in resultado.stderr
    assert "CAPA_DATOS_DIR" in resultado.stderr and "Traceback" not in resultado.stderr


def test_cerrojo_ocupado_por_otro_proceso(datos: Path) -> None:
    retenedor = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import os, sys, time, fasteners
            from pathlib import Path
            carpeta = Path(sys.argv[1]) / "run" / "python_PostgresServer"
            carpeta.mkdir(parents=True)
            cerrojo = fasteners.InterProcessLock(carpeta / ".lockfile")
            cerrojo.acquire()
            (carpeta / ".dueno").write_text(str(os.getpid()))
            print("retenido", flush=True)
            time.sleep(60)
        """), str(datos)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert retenedor.stdout is not None and retenedor.stdout.readline().strip() == "retenido"
        inicio = time.monotonic()
        resultado = _orden(datos, "estado", CAPA_DATOS_ESPERA_CERROJO="1")
        assert time.monotonic() - inicio < 30
    finally:
        retenedor.kill()
        retenedor.wait()
    assert resultado.returncode == 1
    assert "Otro proceso tiene ocupado el PostgreSQL embebido" in resultado.stderr
    assert f"proceso {retenedor.pid}" in resultado.stderr


def test_lista_de_usuarios_sin_procesos_muertos(datos: Path) -> None:
    """Un kernel matado con SIGKILL queda en la lista de usuarios: el siguiente arranque lo olvida."""
    arranque = _python(datos, "from capa_datos_persona import servidor; servidor.usar_servidor()")
    assert arranque.returncode == 0, arranque.stderr
    lista = datos / "pgdata" / ".handle_pids.json"
    lista.write_text(json.dumps([2**22 + 12345]))
    otro = _python(datos, """
        import json
        from capa_datos_persona import servidor
        servidor.usar_servidor()
        print(json.loads((servidor.directorio_pgdata() / ".handle_pids.json").read_text()))
    """)
    assert str(2**22 + 12345) not in otro.stdout
    # Y al salir el último proceso vivo, el servidor se detuvo.
    consulta = _python(datos, "from capa_datos_persona import servidor; print(servidor.embebido_en_marcha())")
    assert consulta.stdout.strip() == "False"


def test_la_carpeta_de_datos_solo_la_ve_su_dueno(datos: Path) -> None:
    assert _orden(datos, "estado").returncode == 0
    assert stat.S_IMODE((datos / "run").stat().st_mode) == 0o700
