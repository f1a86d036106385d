#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz/corpus/<target>/ (run from the
repository root: python3 fuzz/seed_corpus.py). The seeds are committed; the
fuzzer's own finds are not (CI fuzzes a copy of the corpus). Re-running it
rewrites the seeds only, named seed-*."""

import copy
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"


def write(target, name, data):
    path = corpus / target / f"seed-{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


# --- snapshot_load: the recorded example and variants of it ---------------
lab = json.loads((root / "examples" / "lab-failed-rotation.json").read_text())
FACTS = ["secret", "connection", "lambda", "lambda_policy", "database", "logs",
         "execution_role", "kms_key", "rotation_events"]
NETWORK = list(lab["network"].keys())


def unavailable(call):
    return {"unavailable": {"call": call, "kind": "access_denied",
                            "message": f"not authorized to perform {call}"}}


write("snapshot_load", "lab", json.dumps(lab, indent=2))
write("snapshot_load", "lab-compact", json.dumps(lab, separators=(",", ":")))

v = copy.deepcopy(lab)
for key in FACTS:
    v[key] = unavailable(f"svc:{key}")
for key in NETWORK:
    v["network"][key] = unavailable(f"ec2:Describe{key}")
write("snapshot_load", "all-unavailable", json.dumps(v))

v = copy.deepcopy(lab)
for key in FACTS:
    v[key] = {"not_applicable": "not collected"}
for key in NETWORK:
    v["network"][key] = {"not_applicable": "the Lambda is not in a VPC"}
write("snapshot_load", "all-not-applicable", json.dumps(v))

v = copy.deepcopy(lab)
for key in ["execution_role", "kms_key", "rotation_events"]:
    del v[key]
write("snapshot_load", "older-snapshot", json.dumps(v))

v = copy.deepcopy(lab)
for key in NETWORK:
    v["network"][key] = {"present": []}
v["logs"]["present"]["events"] = []
v["secret"]["present"]["versions"] = {}
v["secret"]["present"]["version_created"] = {}
v["connection"]["present"]["keys"] = []
write("snapshot_load", "empty-lists", json.dumps(v))

v = copy.deepcopy(lab)
v["connection"] = {"present": {"format": "not_json", "engine": None, "host": None, "port": None,
                               "dbname": None, "username": None, "db_instance_identifier": None,
                               "db_cluster_identifier": None, "keys": []}}
v["secret"]["present"]["rotation_enabled"] = False
v["secret"]["present"]["rotation_rules"] = {"automatically_after_days": None,
                                            "schedule_expression": "cron(0 4 ? * MON-FRI *)",
                                            "duration": "3h"}
write("snapshot_load", "not-json-cron", json.dumps(v))

v = copy.deepcopy(lab)
v["secret"]["present"]["rotation_rules"]["schedule_expression"] = "rate(4 hours)"
v["secret"]["present"]["rotation_rules"]["automatically_after_days"] = None
v["connection"]["present"]["port"] = 0
v["lambda_policy"] = {"present": None}
write("snapshot_load", "rate-port0-nopolicy", json.dumps(v))

# Dates and counts at the edge of what chrono holds (each once panicked in
# ROT003 or the schedule reader).
edges = {
    "edge-rate-days": ("schedule_expression", "rate(9223372036854775807 days)"),
    "edge-window-hours": ("duration", "9223372036854775807h"),
    "edge-after-days": ("automatically_after_days", 9223372036854775807),
}
for name, (key, value) in edges.items():
    v = copy.deepcopy(lab)
    v["secret"]["present"]["rotation_rules"][key] = value
    write("snapshot_load", name, json.dumps(v))
v = copy.deepcopy(lab)
v["secret"]["present"]["next_rotation"] = "+262142-12-31T23:59:59Z"
v["secret"]["present"]["last_rotated"] = "-262143-01-01T00:00:00Z"
v["collected_at"] = "+262142-12-31T23:59:59Z"
write("snapshot_load", "edge-dates", json.dumps(v))

# --- secret_value: SecretStrings ------------------------------------------
secrets = {
    "mysql": {"engine": "mysql", "host": "db.example.com", "port": 3306, "username": "admin",
              "password": "hunter2-Pa55", "dbname": "app", "dbInstanceIdentifier": "db-1"},
    "postgres-string-port": {"engine": "postgres", "host": "h", "port": "5432", "username": "u",
                             "password": "p", "masterarn": "arn:aws:secretsmanager:eu-west-1:1:secret:m"},
    "odd-types": {"engine": ["mysql"], "host": None, "port": 3306.0, "password": 12345,
                  "ssl": True, "dbClusterIdentifier": {"a": 1}},
    "nested-password": {"password": {"value": "x"}, "extra": "hunter2", "username": "hunter2"},
    "empty": {},
}
for name, value in secrets.items():
    write("secret_value", name, json.dumps(value))
write("secret_value", "escaped", r'{"password":"p\u0061ss\"word\\","host":"h\u00e9"}')
write("secret_value", "duplicate-keys", '{"password":"a","password":"b"}')
write("secret_value", "array", "[1,2,3]")
write("secret_value", "plain", "just a password")
write("secret_value", "whitespace", '  \n\t{"port": 70000, "username": "u"}  ')
write("secret_value", "not-utf8", b'{"password":"\xff\xfe"}')

# --- policy_decide: documents, encoded documents, glob pairs --------------
documents = {
    "lambda-policy": lab["lambda_policy"]["present"],
    "trust": lab["execution_role"]["present"]["trust_policy"],
    "role": lab["execution_role"]["present"]["inline_policies"]["present"][0]["document"]["present"],
    "deny-and-conditions": {"Version": "2012-10-17", "Statement": [
        {"Sid": "All", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Sid": "NoPut", "Effect": "Deny", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]},
         "NotAction": "secretsmanager:Get*", "NotResource": "arn:aws:secretsmanager:*:*:secret:lab/*",
         "Condition": {"StringNotEqualsIfExists": {"aws:SourceAccount": "123456789012"},
                       "ArnLike": {"aws:SourceArn": "arn:aws:secretsmanager:*"}}}]},
    "key-policy": {"Statement": {"Effect": "Allow", "NotPrincipal": {"Service": "s?c*.amazonaws.com"},
                                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                                 "Condition": {"StringEquals": {"kms:ViaService": ["a", "b"]},
                                               "Bool": {"aws:SecureTransport": "true"}}}},
}
for name, doc in documents.items():
    write("policy_decide", name, json.dumps(doc))
encoded = json.dumps(documents["role"], separators=(",", ":"))
write("policy_decide", "url-encoded",
      "".join(c if c.isalnum() else "%%%02X" % ord(c) for c in encoded))
write("policy_decide", "glob-pair", "secretsmanager:Get*\nSecretsManager:GetSecretValue")
write("policy_decide", "glob-stars", "*a*a*a*a*a*a*a*a*b\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
write("policy_decide", "glob-question", "arn:aws:s3:::b?cket/*\narn:aws:s3:::bucket/key")

# --- log_classify: rotation Lambda log lines ------------------------------
lines = [e["message"] for e in lab["logs"]["present"]["events"]]
write("log_classify", "lab", "\n".join(lines))
catalog = [
    "START RequestId: 1 Version: $LATEST",
    "[INFO]\tFound credentials in environment variables.",
    "2026-11-28T10:00:31Z 1 Task timed out after 30.03 seconds",
    "END RequestId: 1",
    "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'pg'",
    "[ERROR]\tsetSecret: Unable to log into database with previous, current, or pending secret of secret arn arn:x",
    "[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the PutSecretValue operation: "
    "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: secretsmanager:PutSecretValue on resource: arn:x",
    "[ERROR] KeyError: 'host key is missing from secret JSON'",
    "[ERROR] KeyError: \"Database engine must be set to 'mysql' in order to use this rotation lambda\"",
    "[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the GetSecretValue operation: Access to KMS is not allowed",
    "[ERROR] Connect timeout on endpoint URL: \"https://secretsmanager.us-east-1.amazonaws.com/\"",
    "[ERROR] ValueError: Secret version v not set as AWSPENDING for rotation of secret s.",
    "[ERROR] JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    "Traceback (most recent call last):",
    "  File \"/var/task/lambda_function.py\", line 1, in lambda_handler",
]
write("log_classify", "catalog", "\n".join(catalog))
write("log_classify", "create-then-timeout", "\n".join([
    "START RequestId: 2 Version: $LATEST",
    "[INFO]\tcreateSecret: Successfully put secret for ARN arn:x and version v.",
    "Task timed out after 15.00 seconds",
]))

# --- snapshot_load's dictionary: the snapshot's keys and enum names -------
tokens = set()


def collect(value):
    if isinstance(value, dict):
        for key, item in value.items():
            tokens.add(json.dumps(key) + ":")
            collect(item)
    elif isinstance(value, list):
        for item in value:
            collect(item)
    elif isinstance(value, str) and len(value) <= 24:
        tokens.add(json.dumps(value))


collect(lab)
tokens.update([
    '"present"', '"unavailable"', '"not_applicable"', '"access_denied"', '"not_found"',
    '"throttled"', '"timeout"', '"other"', '"json"', '"not_json"', '"binary"', '"instance"',
    '"cluster"', '"local"', '"cidr"', '"prefix_list"', '"security_group"', '"ipv6"',
    'null', 'true', 'false', '[]', '{}', '0', '-1', '65535', '65536', '4294967295',
    '"0.0.0.0/0"', '"::/0"', '"10.0.0.0/32"', '"1970-01-01T00:00:00Z"',
    '"9999-12-31T23:59:59Z"', '"rate(1 day)"', '"cron(0 0 * * ? *)"',
])
lines = []
for token in sorted(tokens):
    escaped = token.replace("\\", "\\\\").replace('"', '\\"')
    lines.append(f'"{escaped}"')
(root / "fuzz" / "snapshot_load.dict").write_text("\n".join(lines) + "\n")
