"""End to end in headless Chromium (selenium + chromedriver): what a person sees on the daily
page, a search and a paper page, and an upvote without a page reload. PAPERFEED_URL is the
server (`paperfeed demo`)."""
import os
import tempfile

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["PAPERFEED_URL"]
profile = tempfile.mkdtemp(prefix="paperfeed-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for flag in [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--user-data-dir={profile}",
    "--window-size=1200,1000",
]:
    opts.add_argument(flag)
service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
driver = webdriver.Chrome(service=service, options=opts)
# htmx swaps elements under the test's feet (the vote button after a click): an element
# gone stale between finding and reading it is read again on the next poll.
wait = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))
try:
    # The daily page: titles, abstract starts, author counts, votes.
    driver.get(URL + "/papers/date/2025-03-18")
    assert "Daily Papers" in driver.find_element(By.TAG_NAME, "h1").text
    cards = driver.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) >= 3, len(cards)
    titles = [c.find_element(By.CSS_SELECTOR, ".title").text for c in cards]
    assert "A Comprehensive Survey on Knowledge Distillation" in titles, titles
    card = cards[titles.index("A Comprehensive Survey on Knowledge Distillation")]
    assert card.find_element(By.CSS_SELECTOR, ".n-authors").text == "11 authors"
    assert card.find_element(By.CSS_SELECTOR, ".abstract").text.startswith("Deep Neural Networks")
    assert card.find_element(By.CSS_SELECTOR, ".date").text == "Mar 18, 2025"
    assert card.find_element(By.CSS_SELECTOR, ".vote-button .count").text.isdigit()
    nxt = driver.find_element(By.CSS_SELECTOR, "a[rel=next]")
    assert nxt.get_attribute("href").startswith(URL + "/papers/date/2025-03-")

    # A search from the header box: highlighted matches.
    box = driver.find_element(By.CSS_SELECTOR, "header input[name=q]")
    box.send_keys("knowledge distillation\n")
    wait.until(EC.url_contains("/search?q=knowledge+distillation"))
    marks = driver.find_elements(By.CSS_SELECTOR, "article.card mark")
    assert marks and all(m.text.lower().startswith(("knowledge", "distil")) for m in marks[:10]), [
        m.text for m in marks[:10]
    ]
    results = driver.find_elements(By.CSS_SELECTOR, "article.card .title a")
    assert len(results) == 20, len(results)
    assert "Results 1–20 of" in driver.find_element(By.CSS_SELECTOR, "p.subtitle").text

    # A paper page: full abstract, authors, links.
    target = [r for r in results if r.text == "A Comprehensive Survey on Knowledge Distillation"]
    assert target, [r.text for r in results]
    target[0].click()
    wait.until(EC.url_to_be(URL + "/papers/2503.12067"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "A Comprehensive Survey on Knowledge Distillation"
    abstract = driver.find_element(By.CSS_SELECTOR, "section.abstract").text
    assert "teacher-student architecture" in abstract and len(abstract) > 1000
    assert "Amir M. Mansourian" in driver.find_element(By.CSS_SELECTOR, ".authors").text
    hrefs = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ".actions a")]
    assert "https://arxiv.org/abs/2503.12067" in hrefs and "https://arxiv.org/pdf/2503.12067" in hrefs
    assert driver.find_elements(By.CSS_SELECTOR, "section.similar article.card")

    # Sign up, then upvote in place (htmx: no reload).
    driver.get(URL + "/signup")
    driver.find_element(By.NAME, "username").send_keys("browser_user")
    driver.find_element(By.NAME, "password").send_keys("a browser password")
    driver.find_element(By.CSS_SELECTOR, "form.stacked button").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".account .user")))
    driver.get(URL + "/papers/2503.12067")
    driver.execute_script("window.__same_page = true")
    before = int(driver.find_element(By.CSS_SELECTOR, ".actions .vote-button .count").text)
    driver.find_element(By.CSS_SELECTOR, ".actions .vote-button").click()
    wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".actions .vote-button").get_attribute("aria-pressed") == "true"
    )
    after = int(driver.find_element(By.CSS_SELECTOR, ".actions .vote-button .count").text)
    assert after == before + 1, (before, after)
    assert driver.execute_script("return window.__same_page === true"), "the page was not reloaded"
    print("browser: all checks passed")
finally:
    driver.quit()
