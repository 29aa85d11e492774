"""Settings of the test project of t_django.sh: four apps whose migration
graph is no chain (a merge, a squash, apps depending on other apps' middles),
and the database named by DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/NAME,
or sqlite:PATH), the variable dbshift reads too."""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = ["alpha", "beta", "gamma", "delta"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

url = os.environ.get("DATABASE_URL", "sqlite:" + str(BASE_DIR / "db.sqlite3"))
if url.startswith("sqlite:"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                             "NAME": url[len("sqlite:"):]}}
else:
    u = urlparse(url)
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
                             "NAME": unquote(u.path[1:]), "USER": unquote(u.username or ""),
                             "PASSWORD": unquote(u.password or ""),
                             "HOST": u.hostname or "", "PORT": u.port or ""}}
