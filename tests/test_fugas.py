"""El detector de fugas: dónde se pidió cada conexión, cuánto lleva fuera y cuáles se perdieron."""

from __future__ import annotations

import gc
import inspect
import time

import pytest
from psycopg_pool import PoolTimeout

from capa_datos_persona import Conexion
from capa_datos_persona.laboratorio import fugas
from capa_datos_persona.laboratorio.fugas import DetectorFugas


@pytest.fixture(autouse=True)
def sin_detector():
    yield
    fugas.desactivar_detector()


def test_apagado_por_defecto(capsys: pytest.CaptureFixture[str]) -> None:
    """Sin activarlo no hay detector, ni avisos de fuga, ni explicación del PoolTimeout, ni conexiones perdidas."""
    assert fugas.detector_activo() is None
    Conexion.TIMEOUT = 0.2
    prestadas = [Conexion.obtener_conexion_manual() for _ in range(Conexion.MAX_CON)]
    time.sleep(0.1)
    with pytest.raises(PoolTimeout):
        Conexion.obtener_conexion_manual()
    for conexion in prestadas:
        Conexion.liberar_conexion(conexion)
    perdida = Conexion.obtener_conexion_manual()
    del perdida
    gc.collect()
    salida = capsys.readouterr().out
    for aviso in ("Posible fuga", "Pool agotado", "Conexión perdida"):
        assert aviso not in salida
    assert fugas.detector_activo() is None


def test_informe_con_lugar_y_tiempo(capsys: pytest.CaptureFixture[str]) -> None:
    detector = fugas.activar_detector(umbral=0.2)
    retenida = Conexion.obtener_conexion_manual()
    linea = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]  # la línea de arriba
    breve = Conexion.obtener_conexion_manual()
    Conexion.liberar_conexion(breve)
    assert detector.informe().empty  # nadie pasó todavía el umbral
    time.sleep(0.3)
    informe = detector.informe()
    assert list(informe.columns) == ["conexion", "lugar", "hora", "retenida_s", "estado"]
    assert len(informe) == 1
    fila = informe.iloc[0]
    assert fila["conexion"] == id(retenida)
    assert fila["lugar"] == f"test_fugas.py:{linea}"
    assert fila["retenida_s"] >= 0.2 and fila["estado"] == "prestada"
    salida = capsys.readouterr().out
    assert f"Posible fuga: la conexión id={id(retenida)} pedida en test_fugas.py:{linea}" in salida
    assert salida.count("Posible fuga") == 1  # se avisa una sola vez
    Conexion.liberar_conexion(retenida)
    assert "Por fin vuelve al pool la conexión" in capsys.readouterr().out
    assert detector.informe().empty


def test_sin_avisos_si_avisar_es_false(capsys: pytest.CaptureFixture[str]) -> None:
    detector = fugas.activar_detector(umbral=0.05, avisar=False)
    conexion = Conexion.obtener_conexion_manual()
    time.sleep(0.1)
    assert len(detector.informe()) == 1
    Conexion.liberar_conexion(conexion)
    assert "Posible fuga" not in capsys.readouterr().out


def test_una_conexion_perdida_se_nota_al_momento(capsys: pytest.CaptureFixture[str]) -> None:
    detector = fugas.activar_detector(umbral=60)
    perdida = Conexion.obtener_conexion_manual()
    del perdida
    gc.collect()
    salida = capsys.readouterr().out
    assert "Conexión perdida: la pedida en test_fugas.py:" in salida
    assert len(detector.perdidas) == 1
    informe = detector.informe()
    assert list(informe["estado"]) == ["perdida"]
    # el pool lo confirma: un hueco prestado que ya nadie puede devolver
    stats = Conexion.obtener_pool().get_stats()
    assert stats["pool_size"] - stats["pool_available"] == 1


def test_explica_el_pooltimeout(capsys: pytest.CaptureFixture[str]) -> None:
    Conexion.TIMEOUT = 0.5
    fugas.activar_detector(umbral=60)
    prestadas = [Conexion.obtener_conexion_manual() for _ in range(Conexion.MAX_CON)]
    with pytest.raises(PoolTimeout):
        Conexion.obtener_conexion_manual()
    salida = capsys.readouterr().out
    assert "Pool agotado." in salida
    assert f"{Conexion.MAX_CON} conexiones pedidas a mano sin devolver: " in salida
    assert salida.count("en test_fugas.py:") == Conexion.MAX_CON
    for conexion in prestadas:
        Conexion.liberar_conexion(conexion)


def test_vigilar_en_hilo_avisa_sin_actividad(capsys: pytest.CaptureFixture[str]) -> None:
    fugas.activar_detector(umbral=0.1, vigilar=True)
    conexion = Conexion.obtener_conexion_manual()
    limite = time.monotonic() + 5
    while "Posible fuga" not in capsys.readouterr().out:
        assert time.monotonic() < limite, "el hilo vigilante no avisó"
        time.sleep(0.05)
    Conexion.liberar_conexion(conexion)
    fugas.desactivar_detector()
    assert fugas.detector_activo() is None


def test_umbral_invalido() -> None:
    with pytest.raises(ValueError, match="umbral"):
        DetectorFugas(umbral=0)


def test_las_conexiones_de_with_no_se_vigilan() -> None:
    detector = fugas.activar_detector(umbral=0.01)
    with Conexion.obtener_conexion():
        time.sleep(0.05)
        assert detector.informe(todas=True).empty


def test_cerrar_el_pool_olvida_sus_huecos_perdidos() -> None:
    detector = fugas.activar_detector(umbral=60)
    perdida = Conexion.obtener_conexion_manual()
    del perdida
    gc.collect()
    assert len(detector.perdidas) == 1
    Conexion.cerrar_conexiones()
    assert detector.perdidas == []


# Un IPython de verdad (el de este entorno) con el compilador de celdas que tiene Google Colab:
# ipykernel 6 sobre IPython 7.34, que no anota qué celda (In[N]) compiló cada archivo
# (``_filename_map`` es de IPython 8). Va en un proceso aparte: un InteractiveShell es global.
_COMO_IPYTHON7 = r'''
import linecache

from IPython.core.interactiveshell import InteractiveShell
from ipykernel.compiler import XCachingCompiler


class ComoIPython7(XCachingCompiler):
    """Los archivos de celda de ipykernel (ipykernel_PID/HASH.py), con el cache() de IPython 7.34."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self._filename_map

    def cache(self, transformed_code, number=0, raw_code=None):
        nombre = self.get_code_name(raw_code or transformed_code, transformed_code, number)
        linecache.cache[nombre] = (len(transformed_code), None, transformed_code.splitlines(True), nombre)
        return nombre


shell = InteractiveShell.instance(compiler_class=ComoIPython7)
assert not hasattr(shell.compile, "_filename_map")
celdas = [
    # In[1], antes de importar el detector: se encuentra en el historial.
    ("def donde():\n    from capa_datos_persona.laboratorio import fugas\n"
     "    return fugas.describir_origen(fugas.origen_de_llamada())", True),
    ("from capa_datos_persona.laboratorio import fugas", True),  # In[2]
    # In[3], sin historial (como nbval): se anota al compilarla.
    ("print('ahora:', fugas.describir_origen(fugas.origen_de_llamada()))", False),
    ("print('antes:', donde())", False),
]
for codigo, historial in celdas:
    resultado = shell.run_cell(codigo, store_history=historial)
    assert resultado.success, resultado
'''


def test_numero_de_celda_con_el_ipython_7_de_colab(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Con IPython 7 el lugar de una celda dice su número (``celda In[3]``), no ``celda In[?]``."""
    import os
    import subprocess
    import sys

    entorno = {**os.environ, "IPYTHONDIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", _COMO_IPYTHON7], capture_output=True, text=True, env=entorno,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ahora: celda In[3], línea 1" in r.stdout, r.stdout
    assert "antes: celda In[1], línea 3" in r.stdout, r.stdout


def test_numero_de_celda_con_ipython_8_o_posterior(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Con el IPython de este entorno (8 o posterior, que lo anota él) sale lo mismo."""
    import os
    import subprocess
    import sys

    programa = _COMO_IPYTHON7.replace("compiler_class=ComoIPython7", "compiler_class=XCachingCompiler").replace(
        "assert not hasattr", "assert hasattr")
    r = subprocess.run([sys.executable, "-c", programa], capture_output=True, text=True,
                       env={**os.environ, "IPYTHONDIR": str(tmp_path)}, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ahora: celda In[3], línea 1" in r.stdout, r.stdout
    assert "antes: celda In[1], línea 3" in r.stdout, r.stdout
