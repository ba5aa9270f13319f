"""The sample storefront behind the default preview URL: home, a product listing, products, cart, checkout, account.

It stands in for a store's preview build when no deploy command is configured, so the whole
review flow (open the feedbackUrl, pin comments on several pages) can be tried locally. Its
routes are the ones the demo's comments name (``workbench demo``), so their pages open too.
Pages are plain HTML with no state; each carries the site widget's tag in review mode, as a real
preview would, so the review page can pin on it.
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
    Product("trail-runner-2", "Trail Runner 2", "€129.00", "#5b7f6a", "A light trail shoe with a rock plate and a 6 mm drop. Sizes 38 to 47."),
    Product("walnut-board", "Walnut board", "€65.00", "#6b4a35", "A solid walnut serving board, oiled by hand, 40 × 25 cm."),
)


def _picture(product: Product, size: int) -> str:
    # An inline drawing, so the preview needs no image files and no network.
    return (
        f'<svg class="picture" viewBox="0 0 100 100" width="{size}" height="{size}" role="img" aria-label="{html.escape(product.name)}">'
        f'<rect width="100" height="100" rx="8" fill="#f3eee8"/><circle cx="50" cy="52" r="30" fill="{product.colour}"/></svg>'
    )


def _layout(base: str, title: str, main: str, assets: str, widget: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)} · Harbour &amp; Hearth</title>
<link rel="stylesheet" href="{assets}/storefront.css">
<script src="{widget}" data-mode="review" async></script></head>
<body><p class="announcement">Free shipping from €60 · returns within 30 days</p>
<header class="bar"><a class="brand" href="{base}/">Harbour &amp; Hearth</a>
<nav><a href="{base}/products">Shop</a> <a href="{base}/account">Account</a> <a href="{base}/cart" id="cart-link">Cart (1)</a></nav></header>
<main>{main}</main>
<footer class="foot">Sample storefront of the local preview · prices include VAT</footer></body></html>"""


def _cards(base: str) -> str:
    return "".join(
        f'<li class="card"><a href="{base}/products/{p.slug}">{_picture(p, 160)}<h3>{html.escape(p.name)}</h3></a>'
        f'<p class="price">{p.price}</p></li>'
        for p in PRODUCTS
    )


def _home(base: str) -> str:
    cards = _cards(base)
    return (
        '<section class="hero"><h1 id="hero-title">Made slowly, used daily</h1>'
        '<p>Everyday goods from small workshops, shipped plastic-free.</p>'
        f'<a class="button" href="{base}/products/{PRODUCTS[0].slug}">Shop the mug</a></section>'
        f'<h2>Bestsellers</h2><ul class="grid">{cards}</ul>'
    )


def _product(base: str, product: Product) -> str:
    return (
        f'<article class="product">{_picture(product, 280)}<div><h1>{html.escape(product.name)}</h1>'
        f'<p class="price">{product.price}</p><p>{html.escape(product.blurb)}</p>'
        f'<a class="button" id="add-to-cart" href="{base}/cart">Add to cart</a></div></article>'
    )


def _listing(base: str) -> str:
    sizes = "".join(f'<label><input type="checkbox" name="size" value="{n}"> {n}</label>' for n in (38, 40, 42, 44, 46))
    return (
        '<h1>All products</h1><details class="filters" open><summary>Filter by size</summary>'
        f'<form>{sizes}</form></details><ul class="grid">{_cards(base)}</ul>'
    )


def _checkout(base: str) -> str:
    return (
        '<h1>Checkout</h1><form class="checkout"><label>Email<input type="email" name="email"></label>'
        '<label>Promo code<input name="promo" id="promo"></label>'
        f'<a class="button" id="proceed" href="{base}/account">Proceed</a></form>'
    )


def _account(base: str) -> str:
    return (
        '<h1>Your account</h1><h2>Order history</h2><table class="cart"><thead><tr><th>Order</th><th>Date</th><th>Status</th></tr>'
        '</thead><tbody><tr><td>#1042</td><td>12 Sep</td><td>Shipped</td></tr>'
        '<tr><td>#1017</td><td>28 Aug</td><td>Delivered</td></tr></tbody></table>'
    )


def _cart(base: str) -> str:
    p = PRODUCTS[0]
    return (
        '<h1>Your cart</h1><table class="cart"><thead><tr><th>Item</th><th>Qty</th><th>Price</th></tr></thead>'
        f'<tbody><tr><td><a href="{base}/products/{p.slug}">{html.escape(p.name)}</a></td><td>1</td><td>{p.price}</td></tr></tbody>'
        f'<tfoot><tr><td colspan="2">Total</td><td>{p.price}</td></tr></tfoot></table>'
        f'<a class="button" id="checkout" href="{base}/checkout">Checkout</a>'
    )


def render(base: str, path: str, *, assets: str, widget: str) -> str | None:
    """The page at ``path`` of the storefront under ``base``; None if it has none.

    ``assets`` is where the stylesheet is served, ``widget`` the site widget's script.
    """
    base, assets, widget = html.escape(base), html.escape(assets), html.escape(widget)
    path = "/" + path.strip("/")
    if path == "/":
        return _layout(base, "Shop", _home(base), assets, widget)
    pages = {"/products": ("Shop", _listing), "/cart": ("Cart", _cart), "/checkout": ("Checkout", _checkout),
             "/account": ("Account", _account)}
    if path in pages:
        title, page = pages[path]
        return _layout(base, title, page(base), assets, widget)
    for product in PRODUCTS:
        if path == f"/products/{product.slug}":
            return _layout(base, product.name, _product(base, product), assets, widget)
    return None


def not_found(base: str) -> str:
    return f'<!doctype html><meta charset="utf-8"><title>Not found</title><p>No such page. <a href="{html.escape(base)}/">Back to the shop</a></p>'
