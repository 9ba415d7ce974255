"""One warm loop of `make bench` with Python requests.Session + json.

    /usr/bin/python3 bench/loop.py BASE_URL CA_FILE TOKEN API_VERSION WARMUP N

Prints "rps=<requests per second> n=<N> hwm_kb=<peak RSS>".
"""
import json
import sys
import time

import requests


def peak_rss_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    base_url, ca_file, token, api_version = sys.argv[1:5]
    warmup, count = int(sys.argv[5]), int(sys.argv[6])
    url = base_url + "/api/v1/configBackup"
    session = requests.Session()
    session.headers.update({
        "Authorization": "Bearer " + token,
        "x-api-version": api_version,
        "Accept": "application/json",
    })

    def get():
        response = session.get(url, verify=ca_file)
        response.raise_for_status()
        return json.loads(response.content)

    for _ in range(warmup):
        get()
    started = time.perf_counter()
    for _ in range(count):
        get()
    elapsed = time.perf_counter() - started
    print("rps=%.1f n=%d hwm_kb=%d" % (count / elapsed, count, peak_rss_kb()))


main()
