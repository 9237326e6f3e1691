# Dos órdenes para todo: `make lab` abre el curso, `make test` pasa las pruebas.
# Cada una crea .venv/ si hace falta: `make lab` con requirements.txt (lo del alumno), `make test`
# con requirements-pruebas.txt (además pytest, nbval, playwright y Jupyter Book), con uv o pip (ver tareas.py,
# que también comprueba la versión de Python y cierra JupyterLab en orden con Ctrl-C).
PYTHON ?= python3
ARGS ?=

.PHONY: lab test preparar cuadernos estado detener libro

lab:
	$(PYTHON) tareas.py lab $(ARGS)

test:
	$(PYTHON) tareas.py test $(ARGS)

preparar:
	$(PYTHON) tareas.py preparar

cuadernos:
	$(PYTHON) tareas.py cuadernos $(ARGS)

estado:
	$(PYTHON) tareas.py estado $(ARGS)

detener:
	$(PYTHON) tareas.py detener $(ARGS)

# El curso como sitio web en _build/libro/html/, con las salidas guardadas (sin ejecutar nada).
libro:
	$(PYTHON) tareas.py libro $(ARGS)
