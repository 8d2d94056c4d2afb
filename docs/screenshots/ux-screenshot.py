import shutil, sys
from playwright.sync_api import sync_playwright
url, out, width = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1400
height = int(sys.argv[4]) if len(sys.argv) > 4 else 0
with sync_playwright() as p:
    b = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
    page = b.new_page(viewport={"width": width, "height": height or 900})
    page.goto(url)
    page.wait_for_timeout(500)
    sw = page.evaluate("document.documentElement.scrollWidth")
    print("scrollWidth", sw)
    page.screenshot(path=out, full_page=not height)
    b.close()
