from ninja import Router

router = Router(tags=["b2g"])
