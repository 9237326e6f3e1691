# Dos órdenes para todo: `make lab` abre el curso, `make test` pasa las pruebas.
# Cada una crea .venv/ con requirements.txt si hace falta (ver tareas.py, que también
# comprueba la versión de Python y cierra JupyterLab en orden con Ctrl-C).
PYTHON ?= python3
ARGS ?=

.PHONY: lab test preparar cuadernos estado detener

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
