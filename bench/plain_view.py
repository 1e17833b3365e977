"""The HTTP ceiling for the gateway: a plain Django view that parses the vote and stores nothing.

Django's settings and middleware as the API has them, served like the API (gunicorn, two sync
workers); bench/grpc_route.py starts it as
    DJANGO_SETTINGS_MODULE=bench.plain_view gunicorn 'django.core.wsgi:get_wsgi_application()'
Not part of the product's URLs.
"""

import json
import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from election.settings import *  # noqa: F403  (the product's settings, with this module's URLs)

ROOT_URLCONF = "bench.plain_view"


@csrf_exempt
def vote_accept(request: HttpRequest) -> JsonResponse:
    vote = json.loads(request.body)
    vote_id = vote.get("vote_id") or str(uuid.uuid4())
    return JsonResponse({"vote_id": vote_id, "route": "none", "status": "stored", "vote": vote}, status=201)


urlpatterns = [path("votes", vote_accept)]
