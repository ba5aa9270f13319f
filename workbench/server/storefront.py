"""The sample storefront behind the default preview URL: a home page, product pages and a cart.

It stands in for a store's preview build when no deploy command is configured, so the whole
review flow (open the feedbackUrl, pin comments on several pages) can be tried locally. Pages
are plain HTML with no state; each loads the review agent, as a real preview would.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Product:
    slug: str
    name: str
    price: str
    colour: str
    blurb: str


PRODUCTS: tuple[Product, ...] = (
    Product("stoneware-mug", "Stoneware mug", "€18.00", "#c2703d", "Hand-thrown, 350 ml, glazed inside and out. Dishwasher safe."),
    Product("linen-apron", "Linen apron", "€42.00", "#5b7f6a", "Washed European linen with a cross-back strap and two deep pockets."),
    Product("walnut-board", "Walnut board", "€65.00", "#6b4a35", "A solid walnut serving board, oiled by hand, 40 × 25 cm."),
)


def _picture(product: Product, size: int) -> str:
    # An inline drawing, so the preview needs no image files and no network.
    return (
        f'<svg class="picture" viewBox="0 0 100 100" width="{size}" height="{size}" role="img" aria-label="{html.escape(product.name)}">'
        f'<rect width="100" height="100" rx="8" fill="#f3eee8"/><circle cx="50" cy="52" r="30" fill="{product.colour}"/></svg>'
    )


def _layout(base: str, title: str, main: str, assets: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)} · Harbour &amp; Hearth</title>
<link rel="stylesheet" href="{assets}/storefront.css">
<script src="{assets}/agent.js" defer></script></head>
<body><header class="bar"><a class="brand" href="{base}/">Harbour &amp; Hearth</a>
<nav><a href="{base}/">Shop</a> <a href="{base}/cart" id="cart-link">Cart (1)</a></nav></header>
<main>{main}</main>
<footer class="foot">Sample storefront of the local preview · prices include VAT</footer></body></html>"""


def _home(base: str) -> str:
    cards = "".join(
        f'<li class="card"><a href="{base}/products/{p.slug}">{_picture(p, 160)}<h3>{html.escape(p.name)}</h3></a>'
        f'<p class="price">{p.price}</p></li>'
        for p in PRODUCTS
    )
    return (
        '<section class="hero"><h1 id="hero-title">Made slowly, used daily</h1>'
        '<p>Kitchen goods from small workshops, shipped plastic-free.</p>'
        f'<a class="button" href="{base}/products/{PRODUCTS[0].slug}">Shop the mug</a></section>'
        f'<h2>Bestsellers</h2><ul class="grid">{cards}</ul>'
    )


def _product(base: str, product: Product) -> str:
    return (
        f'<article class="product">{_picture(product, 280)}<div><h1>{html.escape(product.name)}</h1>'
        f'<p class="price">{product.price}</p><p>{html.escape(product.blurb)}</p>'
        f'<a class="button" id="add-to-cart" href="{base}/cart">Add to cart</a></div></article>'
    )


def _cart(base: str) -> str:
    p = PRODUCTS[0]
    return (
        '<h1>Your cart</h1><table class="cart"><thead><tr><th>Item</th><th>Qty</th><th>Price</th></tr></thead>'
        f'<tbody><tr><td><a href="{base}/products/{p.slug}">{html.escape(p.name)}</a></td><td>1</td><td>{p.price}</td></tr></tbody>'
        f'<tfoot><tr><td colspan="2">Total</td><td>{p.price}</td></tr></tfoot></table>'
        '<button class="button" id="checkout" type="button">Checkout</button>'
    )


def render(base: str, path: str, *, assets: str) -> str | None:
    """The page at ``path`` (``/``, ``/products/<slug>``, ``/cart``) of the storefront under ``base``; None if none.

    ``assets`` is where the stylesheet and the review agent are served.
    """
    base, assets = html.escape(base), html.escape(assets)
    path = "/" + path.strip("/")
    if path == "/":
        return _layout(base, "Shop", _home(base), assets)
    if path == "/cart":
        return _layout(base, "Cart", _cart(base), assets)
    for product in PRODUCTS:
        if path == f"/products/{product.slug}":
            return _layout(base, product.name, _product(base, product), assets)
    return None


def not_found(base: str) -> str:
    return f'<!doctype html><meta charset="utf-8"><title>Not found</title><p>No such page. <a href="{html.escape(base)}/">Back to the shop</a></p>'
