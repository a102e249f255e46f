#!/usr/bin/env python3
"""Writes N bucket bundles (default 10,000) in files of 1,000, for bench/cloud.sh: the policies
an audit meets — public reads, website buckets, conditions on addresses, endpoints, TLS,
organisations, Denies, service principals, ACL grants, Block Public Access — in rotation, each
with its own bucket name and literal values, so that no two are the same text.

    bench/cloud_policies.py OUT_DIR [N]
"""
import json
import os
import sys


def policy(i, b):
    arn, objs = f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"
    kind = i % 10
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": objs}
    if kind == 0:
        return [allow]
    if kind == 1:
        return [dict(allow, Condition={"IpAddress": {"aws:SourceIp": [
            f"198.51.{i % 250}.0/24", f"203.0.{i % 250}.0/24"]}})]
    if kind == 2:
        return [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": [arn, objs]},
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, objs],
                 "Condition": {"StringNotEquals": {"aws:SourceVpce": f"vpce-{i:08x}"}}}]
    if kind == 3:
        return [dict(allow, Condition={"Bool": {"aws:SecureTransport": "true"},
                                       "StringLike": {"aws:Referer": f"https://shop{i}.example/*"}})]
    if kind == 4:
        return [{"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                 "Action": "s3:GetObject", "Resource": objs,
                 "Condition": {"StringEquals": {"AWS:SourceArn":
                               f"arn:aws:cloudfront::{100000000000 + i}:distribution/E{i}"}}}]
    if kind == 5:
        return [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{100000000000 + i}:root"},
                 "Action": ["s3:GetObject", "s3:PutObject"], "Resource": objs}]
    if kind == 6:
        return [dict(allow, Condition={"StringEquals": {"aws:PrincipalOrgID": f"o-{i:010x}"}})]
    if kind == 7:
        return [{"Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject", "s3:GetObject"],
                 "Resource": f"{arn}/uploads/*"},
                {"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject",
                 "Resource": f"{arn}/uploads/*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": f"192.0.{i % 250}.0/24"}}}]
    if kind == 8:
        return [dict(allow, Condition={"ArnNotEquals": {"aws:PrincipalArn":
                                       f"arn:aws:iam::{100000000000 + i}:user/ops"}})]
    return [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, objs],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]


def bundle(i):
    b = f"bucket-{i:05d}"
    out = {"Bucket": b, "GetBucketPolicy": {"Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": policy(i, b)})}}
    if i % 4 == 0:
        out["GetBucketAcl"] = {"Owner": {"ID": "x"}, "Grants": [{"Grantee": {
            "Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ" if i % 8 else "WRITE"}]}
    if i % 3 == 0:
        out["GetPublicAccessBlock"] = {"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": i % 6 == 0,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": False}}
    if i % 5 == 0:
        out["GetBucketWebsite"] = {"IndexDocument": {"Suffix": "index.html"}}
    return out


def main():
    out_dir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    os.makedirs(out_dir, exist_ok=True)
    for start in range(0, n, 1000):
        with open(os.path.join(out_dir, f"bundles-{start // 1000:03d}.json"), "w") as f:
            json.dump([bundle(i) for i in range(start, min(n, start + 1000))], f)


if __name__ == "__main__":
    main()
