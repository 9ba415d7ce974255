"""The cold row of `make bench` for Python: log in, get the settings, exit.

    VBR_PASSWORD=... /usr/bin/python3 bench/cold.py BASE_URL CA_FILE API_VERSION
"""
import json
import os
import sys

import requests

base_url, ca_file, api_version = sys.argv[1:4]
session = requests.Session()
session.headers.update({"x-api-version": api_version, "Accept": "application/json"})
answer = session.post(base_url + "/api/oauth2/token", data={
    "grant_type": "password", "username": "admin",
    "password": os.environ["VBR_PASSWORD"],
}, verify=ca_file)
answer.raise_for_status()
token = json.loads(answer.content)["access_token"]
answer = session.get(base_url + "/api/v1/configBackup",
                     headers={"Authorization": "Bearer " + token}, verify=ca_file)
answer.raise_for_status()
json.loads(answer.content)
