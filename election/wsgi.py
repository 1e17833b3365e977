import os

from django.core.wsgi import get_wsgi_application

from election.api.microcache import Microcache

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")
# Repeated public API reads are answered from memory, before Django: see the module.
application = Microcache(get_wsgi_application())
