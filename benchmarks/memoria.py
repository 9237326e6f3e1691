"""Memoria del kernel y del PostgreSQL embebido mientras corren todos los cuadernos.

Un proceso hijo ejecuta los cuadernos de ``notebooks/`` uno tras otro con
``nbclient`` (:func:`ejecutar_cuadernos`); el principal lo muestrea desde fuera
cada ``intervalo`` segundos (:func:`muestrear_memoria`): suma la memoria de los
procesos que cuelgan del hijo (los kernels) y la del servidor (el
``postmaster`` de ``pgdata`` y sus sesiones).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _comun import RAIZ, carpeta_embebido, entorno_embebido, leer_resultado, orden_hijo, progreso, ultimas_lineas
from _markdown import cumple, miles, seccion, tabla

INTERVALO_S = 0.05
OBJETIVO_MEMORIA_MB = 1024.0
TITULO = "Memoria con todos los cuadernos"
MB = 1024 * 1024
ANSI = re.compile(r"\x1b\[[0-9;]*m")
"""Los colores de terminal que ``nbclient`` deja en el texto de los errores."""


def _resumir_error(exc: Exception) -> str:
    texto = ANSI.sub("", str(exc)).strip()
    return f"{type(exc).__name__}: {texto.splitlines()[-1] if texto else ''}"


def ejecutar_cuadernos() -> dict[str, Any]:
    """(Proceso hijo) Ejecuta cada cuaderno en un kernel nuevo; un error se anota y se sigue con el siguiente."""
    import nbformat
    from nbclient import NotebookClient

    carpeta = RAIZ / "notebooks"
    resultados = []
    for ruta in sorted(carpeta.glob("*.ipynb")):
        cliente = NotebookClient(
            nbformat.read(ruta, as_version=4),
            timeout=600,
            kernel_name="python3",  # jupyter_client lo lanza con este mismo Python
            resources={"metadata": {"path": str(carpeta)}},  # como nbval: en la carpeta del cuaderno
        )
        t0 = time.perf_counter()
        error = None
        try:
            cliente.execute()
        except Exception as exc:
            error = _resumir_error(exc)
        resultados.append({"cuaderno": ruta.name, "s": time.perf_counter() - t0, "error": error})
    return {"cuadernos": resultados}


def _procesos_kernel(corredor: Any) -> dict[int, Any]:
    """Los procesos que cuelgan del hijo que ejecuta los cuadernos (kernels y sus subprocesos)."""
    import psutil

    try:
        return {hijo.pid: hijo for hijo in corredor.children(recursive=True)}
    except psutil.NoSuchProcess:
        return {}


def _procesos_servidor(pgdata: Path) -> dict[int, Any]:
    """El ``postmaster`` del servidor de ``pgdata`` y sus sesiones (vacío si no está en marcha)."""
    import psutil

    servidor: dict[int, Any] = {}
    try:
        pid_postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid_postmaster)
        servidor[pid_postmaster] = postmaster
        for hijo in postmaster.children(recursive=True):
            servidor[hijo.pid] = hijo
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return servidor


class Muestreo:
    """Los picos de memoria (MB) vistos en las muestras tomadas hasta ahora."""

    def __init__(self) -> None:
        self.picos = {"rss_total": 0.0, "pss_total": 0.0, "rss_kernel": 0.0, "rss_servidor": 0.0}
        self.procesos_servidor: set[int] = set()
        self.muestras = 0
        self.pss_disponible = True

    def _medir_proceso(self, proceso: Any) -> tuple[float, float]:
        """RSS y PSS (0 si no se puede) de un proceso; sin permiso para la PSS, deja de pedirla."""
        import psutil

        try:
            if not self.pss_disponible:
                return proceso.memory_info().rss, 0.0
            info = proceso.memory_full_info()
            if not hasattr(info, "pss"):  # la PSS solo existe en Linux
                self.pss_disponible = False
            return info.rss, getattr(info, "pss", 0.0)
        except psutil.AccessDenied:  # sin permiso para la PSS: seguir solo con la RSS
            self.pss_disponible = False
            try:
                return proceso.memory_info().rss, 0.0
            except psutil.Error:
                return 0.0, 0.0
        except psutil.Error:
            return 0.0, 0.0

    def tomar(self, corredor: Any, pgdata: Path) -> None:
        """Una muestra: suma la memoria de los kernels y la del servidor, y actualiza los picos."""
        kernel = _procesos_kernel(corredor)
        servidor = _procesos_servidor(pgdata)
        for pid in servidor:  # por si el postmaster colgara del kernel: no contarlo dos veces
            kernel.pop(pid, None)
        rss = {"kernel": 0.0, "servidor": 0.0}
        pss = 0.0
        for grupo, procesos in (("kernel", kernel), ("servidor", servidor)):
            for proceso in procesos.values():
                rss_proceso, pss_proceso = self._medir_proceso(proceso)
                rss[grupo] += rss_proceso
                pss += pss_proceso
        self.procesos_servidor.update(servidor)
        for clave, valor in (("rss_total", rss["kernel"] + rss["servidor"]), ("pss_total", pss),
                             ("rss_kernel", rss["kernel"]), ("rss_servidor", rss["servidor"])):
            self.picos[clave] = max(self.picos[clave], valor / MB)
        self.muestras += 1


def muestrear_memoria(carpeta_datos: Path, intervalo: float) -> dict[str, Any]:
    """Ejecuta los cuadernos en otro proceso y mide la memoria del kernel y del servidor."""
    import psutil

    muestreo = Muestreo()
    with tempfile.TemporaryDirectory(prefix="capa_medir_json_") as tmp:
        ruta_json = Path(tmp) / "cuadernos.json"
        ruta_err = Path(tmp) / "stderr.txt"
        with open(ruta_err, "w") as err:
            proceso = subprocess.Popen(orden_hijo(["--_cuadernos"], ruta_json), env=entorno_embebido(carpeta_datos),
                                       cwd=RAIZ, stdout=subprocess.DEVNULL, stderr=err)
        try:
            corredor = psutil.Process(proceso.pid)
            t0 = time.perf_counter()
            while proceso.poll() is None:
                muestreo.tomar(corredor, carpeta_datos / "pgdata")
                time.sleep(intervalo)
            duracion = time.perf_counter() - t0
        finally:
            if proceso.poll() is None:  # interrumpido: que no quede ejecutando cuadernos
                proceso.kill()
        if proceso.returncode != 0 or not ruta_json.exists():
            raise RuntimeError(f"la ejecución de los cuadernos falló (código {proceso.returncode}): "
                               + ultimas_lineas(ruta_err.read_text(errors="replace")))
        cuadernos = leer_resultado(ruta_json)["cuadernos"]
    return {
        "picos_mb": muestreo.picos,
        "pss_disponible": muestreo.pss_disponible,
        "muestras": muestreo.muestras,
        "intervalo_s": intervalo,
        "duracion_s": duracion,
        "procesos_servidor_vistos": len(muestreo.procesos_servidor),
        "cuadernos": cuadernos,
    }


def medir_memoria(notas: list[str]) -> dict[str, Any] | None:
    """(Proceso principal) :func:`muestrear_memoria` con un embebido temporal; si falla, lo anota en ``notas``."""
    progreso("Ejecutando todos los cuadernos y midiendo la memoria (uno o dos minutos)...")
    with carpeta_embebido() as carpeta:
        try:
            return muestrear_memoria(carpeta, intervalo=INTERVALO_S)
        except (RuntimeError, OSError) as exc:
            notas.append(f"Memoria: no se pudo medir ({exc}).")
            return None


def _filas_memoria(memoria: dict[str, Any]) -> list[list[str]]:
    picos = memoria["picos_mb"]
    objetivo = f"≤ {miles(OBJETIVO_MEMORIA_MB)}"
    filas = [["Pico de RSS: kernel + servidor embebido (suma)", miles(picos["rss_total"]), objetivo,
              cumple(picos["rss_total"], OBJETIVO_MEMORIA_MB)]]
    if memoria["pss_disponible"]:
        filas.append(["Pico de PSS: kernel + servidor (sin contar dos veces la memoria compartida)",
                      miles(picos["pss_total"]), objetivo, cumple(picos["pss_total"], OBJETIVO_MEMORIA_MB)])
    return filas + [
        ["Pico de RSS del kernel (con sus subprocesos)", miles(picos["rss_kernel"]), "—", "—"],
        ["Pico de RSS del servidor (postmaster y sesiones)", miles(picos["rss_servidor"]), "—", "—"],
    ]


def formatear_memoria(memoria: dict[str, Any]) -> str:
    cuadernos = memoria["cuadernos"]
    detalle = ", ".join(f"{c['cuaderno']} {c['s']:.1f} s" + (" (ERROR)" if c["error"] else "") for c in cuadernos)
    errores = [f"> Error inesperado en {c['cuaderno']}: {c['error']}" for c in cuadernos if c["error"]]
    return seccion(
        TITULO,
        f"Se ejecutan los {len(cuadernos)} cuadernos de `notebooks/` uno tras otro con `nbclient` (un kernel "
        f"nuevo por cuaderno, servidor embebido en una carpeta temporal) y cada {memoria['intervalo_s'] * 1000:.0f} ms "
        "se suma la memoria del kernel y de los procesos del servidor. "
        f"{miles(memoria['muestras'])} muestras en {memoria['duracion_s']:.0f} s.",
        tabla(["Medida", "MB", "Objetivo (MB)", "¿cumple?"], _filas_memoria(memoria)),
        f"Cuadernos: {detalle}.",
        *errores,
    )


def formatear_sin_memoria() -> str:
    return seccion(TITULO, "No medida (usa `--memoria`).")
